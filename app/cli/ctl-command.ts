/** `hetbox ctl ADDRESS list | read HANDLER [ARG] | write HANDLER VALUE`: client of the control socket. */
import { ControlClient } from '../control/control-client.js';
import { controlAddressFlag } from './control-address-flag.js';
import { UsageError } from './usage-error.js';

export async function ctlCommand(args: string[]): Promise<number> {
  const [address, verb, handler, ...rest] = args;
  if (address === undefined || verb === undefined) throw new UsageError('expected ADDRESS and list|read|write');
  const client = await ControlClient.connect(controlAddressFlag(address));
  try {
    let reply;
    switch (verb) {
      case 'list':
        reply = await client.list();
        break;
      case 'read':
        if (handler === undefined) throw new UsageError('read needs a HANDLER');
        reply = await client.read(handler, rest.length ? rest.join(' ') : undefined);
        break;
      case 'write':
        if (handler === undefined) throw new UsageError('write needs a HANDLER');
        reply = await client.write(handler, rest.join(' '));
        break;
      default:
        throw new UsageError(`unknown ctl verb '${verb}': expected list, read or write`);
    }
    if (reply.code !== 200) {
      process.stderr.write(`${reply.code} ${reply.text}\n`);
      return 1;
    }
    if (reply.data !== undefined) process.stdout.write(reply.data);
    return 0;
  } finally {
    client.close();
  }
}
