/** Client side of the control protocol (`hetbox ctl`, and tests). */
import net from 'node:net';
import { GREETING } from './protocol.js';
import type { ControlAddress } from './control-address.js';

export interface ControlReply {
  code: number;
  text: string;
  data?: string;
}

export class ControlClient {
  private buf = '';
  private wake: (() => void) | null = null;
  private closed = false;

  private constructor(private readonly sock: net.Socket) {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      this.wake?.();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  static async connect(addr: ControlAddress, timeoutMs = 5000): Promise<ControlClient> {
    const sock = addr.path !== undefined ? net.connect(addr.path) : net.connect(addr.port ?? 0, addr.host ?? '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('control connection timed out')), timeoutMs);
      sock.once('connect', () => (clearTimeout(t), resolve()));
      sock.once('error', (e) => (clearTimeout(t), reject(e)));
    });
    const c = new ControlClient(sock);
    const greeting = await c.line();
    if (!greeting.startsWith(GREETING.split('/')[0])) throw new Error(`not a hetbox control socket (greeting '${greeting}')`);
    return c;
  }

  private async need(pred: () => boolean): Promise<void> {
    while (!pred()) {
      if (this.closed) throw new Error('control connection closed');
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
  }

  private async line(): Promise<string> {
    await this.need(() => this.buf.includes('\n'));
    const nl = this.buf.indexOf('\n');
    const l = this.buf.slice(0, nl).replace(/\r$/, '');
    this.buf = this.buf.slice(nl + 1);
    return l;
  }

  private async reply(): Promise<ControlReply> {
    const l = await this.line();
    const m = /^(\d{3})[ -](.*)$/.exec(l);
    if (!m) throw new Error(`bad control reply '${l}'`);
    const r: ControlReply = { code: Number(m[1]), text: m[2] };
    // Replies to READ and LIST carry a `DATA n` line and n bytes.
    if (r.code === 200 && r.text.startsWith('Read handler')) {
      const d = await this.line();
      const n = Number(d.slice(5));
      await this.need(() => Buffer.byteLength(this.buf, 'latin1') >= n);
      r.data = this.buf.slice(0, n);
      this.buf = this.buf.slice(n);
    }
    return r;
  }

  async command(line: string): Promise<ControlReply> {
    this.sock.write(`${line}\r\n`);
    return this.reply();
  }

  read(handler: string, arg?: string): Promise<ControlReply> {
    return this.command(`READ ${handler}${arg !== undefined ? ` ${arg}` : ''}`);
  }

  async write(handler: string, value: string): Promise<ControlReply> {
    if (value.includes('\n')) {
      this.sock.write(`WRITEDATA ${handler} ${Buffer.byteLength(value, 'latin1')}\r\n${value}`);
      return this.reply();
    }
    return this.command(`WRITE ${handler} ${value}`);
  }

  list(): Promise<ControlReply> {
    return this.command('LIST');
  }

  close(): void {
    this.sock.end('QUIT\r\n');
  }
}
