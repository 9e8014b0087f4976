/**
 * Serve a Router's handlers over the control protocol. Listens on loopback only unless the
 * caller passes another host on purpose; a bad command, an unknown handler or a rejected
 * value is an error reply on that connection, never a crash.
 */
import net from 'node:net';
import { existsSync, unlinkSync } from 'node:fs';
import { z } from 'zod';
import { NoSuchElement, NoSuchHandler, type Router } from '../../core/router.js';
import { GREETING, Status } from './protocol.js';

export interface ControlAddress {
  /** TCP port on `host` (default 127.0.0.1), or a Unix socket path. */
  port?: number;
  host?: string;
  path?: string;
}

/** `PORT`, `HOST:PORT`, or a socket path (anything with a '/'). */
export function parseControlAddress(text: string): ControlAddress {
  if (text.includes('/')) return { path: text };
  const m = /^(?:(.+):)?(\d+)$/.exec(text);
  if (!m) throw new Error(`bad control address '${text}': expected PORT, HOST:PORT or a socket path`);
  const port = z.coerce.number().int().min(0).max(65535).parse(m[2]);
  return { host: m[1] ?? '127.0.0.1', port };
}

export class ControlServer {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly router: Router) {}

  async listen(addr: ControlAddress): Promise<string> {
    const server = net.createServer((sock) => this.serve(sock));
    this.server = server;
    server.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (addr.path !== undefined) {
        if (existsSync(addr.path)) unlinkSync(addr.path);
        server.listen(addr.path, () => resolve());
      } else server.listen(addr.port ?? 0, addr.host ?? '127.0.0.1', () => resolve());
    });
    const a = server.address();
    return typeof a === 'string' ? a : `${a?.address}:${a?.port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private serve(sock: net.Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => undefined);
    sock.setEncoding('latin1');
    sock.write(`${GREETING}\r\n`);
    let buf = '';
    let busy = Promise.resolve();
    let expectData: { handler: string; n: number } | null = null;
    sock.on('data', (chunk: string) => {
      buf += chunk;
      busy = busy.then(async () => {
        for (;;) {
          if (expectData !== null) {
            if (buf.length < expectData.n) return;
            const value = buf.slice(0, expectData.n);
            buf = buf.slice(expectData.n);
            const h = expectData.handler;
            expectData = null;
            sock.write(await this.write(h, value));
            continue;
          }
          const nl = buf.indexOf('\n');
          if (nl < 0) {
            if (buf.length > 1 << 20) {
              sock.end(`${Status.syntaxError} line too long\r\n`);
              buf = '';
            }
            return;
          }
          const line = buf.slice(0, nl).replace(/\r$/, '');
          buf = buf.slice(nl + 1);
          const m = /^\s*(\S+)\s*(\S*)\s?([\s\S]*)$/.exec(line);
          if (!m || line.trim() === '') continue;
          const cmd = m[1].toUpperCase();
          const target = m[2];
          const rest = m[3];
          if (cmd === 'QUIT') {
            sock.end(`200 Goodbye!\r\n`);
            return;
          }
          if (cmd === 'WRITEDATA') {
            const n = Number(rest.trim());
            if (!Number.isInteger(n) || n < 0) sock.write(`${Status.syntaxError} WRITEDATA needs a byte count\r\n`);
            else expectData = { handler: target, n };
            continue;
          }
          sock.write(await this.command(cmd, target, rest));
        }
      });
    });
  }

  private async command(cmd: string, target: string, rest: string): Promise<string> {
    switch (cmd) {
      case 'READ':
        return this.read(target, rest);
      case 'WRITE':
        return this.write(target, rest);
      case 'LIST': {
        const body = this.router.listHandlers().map((h) => `${h.name} ${h.read ? 'r' : ''}${h.write ? 'w' : ''}`).join('\n') + '\n';
        return `${Status.ok} Read handler 'list' OK\r\nDATA ${Buffer.byteLength(body)}\r\n${body}`;
      }
      case 'CHECKREAD':
      case 'CHECKWRITE': {
        if (target === '') return `${Status.syntaxError} ${cmd} needs a handler name\r\n`;
        try {
          const h = this.router.handler(target);
          const ok = cmd === 'CHECKREAD' ? h.read !== undefined : h.write !== undefined;
          return ok ? `${Status.ok} ${cmd} ${target} OK\r\n` : `${Status.permissionDenied} handler '${target}' is not ${cmd === 'CHECKREAD' ? 'read' : 'writ'}able\r\n`;
        } catch (e) {
          return errorReply(e);
        }
      }
      default:
        return `${Status.unimplemented} unimplemented command '${cmd}'\r\n`;
    }
  }

  private async read(name: string, arg: string): Promise<string> {
    if (name === '') return `${Status.syntaxError} READ needs a handler name\r\n`;
    try {
      const h = this.router.handler(name);
      if (h.read === undefined) return `${Status.permissionDenied} handler '${name}' is write-only\r\n`;
      const value = await h.read(arg.trim() === '' ? undefined : arg.trim());
      const body = value.endsWith('\n') || value === '' ? value : `${value}\n`;
      return `${Status.ok} Read handler '${name}' OK\r\nDATA ${Buffer.byteLength(body)}\r\n${body}`;
    } catch (e) {
      return errorReply(e);
    }
  }

  private async write(name: string, value: string): Promise<string> {
    if (name === '') return `${Status.syntaxError} WRITE needs a handler name\r\n`;
    try {
      const h = this.router.handler(name);
      if (h.write === undefined) return `${Status.permissionDenied} handler '${name}' is read-only\r\n`;
      await h.write(value);
      return `${Status.ok} Write handler '${name}' OK\r\n`;
    } catch (e) {
      return errorReply(e);
    }
  }
}

function errorReply(e: unknown): string {
  const msg = (e instanceof Error ? e.message : String(e)).replace(/\r?\n/g, ' ');
  if (e instanceof NoSuchElement) return `${Status.noSuchElement} ${msg}\r\n`;
  if (e instanceof NoSuchHandler) return `${Status.noSuchHandler} ${msg}\r\n`;
  return `${Status.handlerError} ${msg}\r\n`;
}
