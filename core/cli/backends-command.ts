/** `hetbox backends [--json]`: every backend with its device, or the reason it is unavailable. */
import { describeBackends, disposeBackends, formatBackends } from '../backend-registry.js';
import { parseFlags } from './parse-flags.js';

export async function backendsCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { json: { type: 'boolean', default: false } }, false);
  const list = await describeBackends();
  process.stdout.write(values.json ? `${JSON.stringify(list, null, 2)}\n` : `${formatBackends(list)}\n`);
  await disposeBackends();
  return 0;
}
