/**
 * The control socket's bounds, with real sockets: WRITEDATA larger than the limit is refused and
 * its bytes discarded without being held; a client that sends commands and never reads its
 * replies is paused at the reply high-water mark and then disconnected, and everything it held
 * is released.
 */
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { Router } from '../../core/router.js';
import { ControlServer, type ConnectionStats, type ControlLimits } from '../../app/control/control-server.js';
import { ControlAddressError, parseControlAddress } from '../../app/control/control-address.js';
import { elementLibrary } from '../../elements/index.js';

const warnings: string[] = [];
const log = { info: () => undefined, warn: (m: string) => void warnings.push(m) };

let servers: ControlServer[] = [];
afterEach(async () => {
  for (const s of servers) await s.close();
  servers = [];
});

async function serve(limits: Partial<ControlLimits>): Promise<{ server: ControlServer; sockPath: string }> {
  const router = Router.fromText('Idle -> c :: Counter -> q :: Queue(5) -> rt :: IPLookup(10.0.0.0/8 0) -> Discard;', 'ctl.click', elementLibrary, { log });
  await router.initialize();
  const server = new ControlServer(router, { limits, log });
  servers.push(server);
  const sockPath = path.join(mkdtempSync(path.join(os.tmpdir(), 'hetbox-ctl-')), 'ctl.sock');
  await server.listen({ path: sockPath });
  return { server, sockPath };
}

/** A raw client that collects what the server sends, for reading replies in order. */
class RawClient {
  text = '';
  private waiters: (() => void)[] = [];
  constructor(readonly sock: net.Socket) {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.text += d;
      for (const w of this.waiters.splice(0)) w();
    });
    sock.on('close', () => {
      for (const w of this.waiters.splice(0)) w();
    });
  }
  static async connect(p: string): Promise<RawClient> {
    const sock = net.connect(p);
    await once(sock, 'connect');
    const c = new RawClient(sock);
    await c.line();
    return c;
  }
  async line(): Promise<string> {
    while (!this.text.includes('\n')) {
      if (this.sock.destroyed) throw new Error('closed');
      await new Promise<void>((r) => this.waiters.push(r));
    }
    const nl = this.text.indexOf('\n');
    const l = this.text.slice(0, nl).replace(/\r$/, '');
    this.text = this.text.slice(nl + 1);
    return l;
  }
  /** One reply: the status line, and for `200 Read handler` its DATA body. */
  async reply(): Promise<{ line: string; data?: string }> {
    const line = await this.line();
    if (!/^200 Read handler/.test(line)) return { line };
    const d = await this.line();
    const n = Number(/^DATA (\d+)$/.exec(d)![1]);
    while (this.text.length < n) await new Promise<void>((r) => this.waiters.push(r));
    const data = this.text.slice(0, n);
    this.text = this.text.slice(n);
    return { line, data };
  }
}

/** Write `total` bytes of `fill` in chunks, honouring the socket's back-pressure. */
async function writeBytes(sock: net.Socket, total: number, fill = 'x'): Promise<void> {
  const chunk = fill.repeat(64 * 1024);
  for (let left = total; left > 0; left -= chunk.length) {
    if (!sock.write(left >= chunk.length ? chunk : chunk.slice(0, left))) await once(sock, 'drain');
  }
}

describe('control socket bounds', () => {
  it('refuses a WRITEDATA over the limit with 500, discards its bytes without holding them, and keeps serving', async () => {
    const { server, sockPath } = await serve({ maxWriteDataBytes: 4096 });
    const c = await RawClient.connect(sockPath);
    const n = 3_000_000;
    c.sock.write(`WRITEDATA q.capacity ${n}\r\n`);
    const refused = await c.reply();
    expect(refused.line).toMatch(/^500 WRITEDATA of 3000000 bytes refused: the limit is 4096 bytes/);
    await writeBytes(c.sock, n, '9');
    c.sock.write('READ q.capacity\r\n');
    expect(await c.reply()).toEqual({ line: "200 Read handler 'q.capacity' OK", data: '5\n' });
    // Within the limit, WRITEDATA still works.
    c.sock.write('WRITEDATA q.capacity 3\r\n12\n');
    expect((await c.reply()).line).toBe("200 Write handler 'q.capacity' OK");
    const [stats] = server.stats();
    // Never more than a command line plus a read chunk held, far from the 3 MB declared.
    expect(stats.peakInputHeld).toBeLessThan(server.limits.maxLineBytes + 128 * 1024);
    c.sock.destroy();
  });

  it('answers the 100 GB WRITEDATA of the crash report at once and does not hold what follows', async () => {
    const { server, sockPath } = await serve({ maxLineBytes: 4096 });
    const c = await RawClient.connect(sockPath);
    c.sock.write('WRITEDATA rt.add 100000000000\r\n');
    expect((await c.reply()).line).toMatch(/^500 WRITEDATA of 100000000000 bytes refused/);
    await writeBytes(c.sock, 8 << 20);
    c.sock.write('\r\n');
    // Everything sent is being discarded: the server holds at most one read chunk of it.
    const [stats] = server.stats();
    expect(stats.peakInputHeld).toBeLessThan(4096 + 128 * 1024);
    c.sock.destroy();
  });

  it('rejects a bad WRITEDATA count with 500 and stays in step', async () => {
    const { sockPath } = await serve({});
    const c = await RawClient.connect(sockPath);
    c.sock.write('WRITEDATA q.capacity lots\r\nREAD q.capacity\r\n');
    expect((await c.reply()).line).toBe("500 WRITEDATA needs a byte count, got 'lots'");
    expect((await c.reply()).data).toBe('5\n');
    c.sock.destroy();
  });

  it('pauses a client that never reads its replies at the high-water mark, then disconnects it and releases it', async () => {
    const limits = { replyHighWaterBytes: 64 * 1024, stallTimeoutMs: 300 };
    const { server, sockPath } = await serve(limits);
    warnings.length = 0;
    const sock = net.connect(sockPath);
    await once(sock, 'connect');
    // Never read: no 'data' listener, so the kernel's buffers fill and the server backs up.
    const paused = once(server, 'paused') as Promise<[ConnectionStats]>;
    const closed = once(server, 'closed') as Promise<[ConnectionStats, string]>;
    sock.on('error', () => undefined);
    sock.write('LIST\r\n'.repeat(200_000)); // unbounded, these replies would be >100 MB
    const [atPause] = await paused;
    const listReply = (await server['command']('LIST', '', '')).length;
    expect(atPause.paused).toBe(true);
    expect(atPause.commands).toBeLessThan(200_000);
    expect(atPause.replyBacklog).toBeLessThanOrEqual(limits.replyHighWaterBytes + listReply);
    const [atClose, reason] = await closed;
    expect(reason).toMatch(/took no reply for 300 ms/);
    expect(atClose.peakReplyBacklog).toBeLessThanOrEqual(limits.replyHighWaterBytes + listReply);
    expect(atClose.inputHeld).toBe(0);
    expect(server.stats()).toEqual([]);
    expect(warnings.some((w) => w.includes('took no reply'))).toBe(true);
    sock.destroy();
  });

  it('a paused client that starts reading gets every reply, in order and whole', async () => {
    const { server, sockPath } = await serve({ replyHighWaterBytes: 32 * 1024 });
    const c = await RawClient.connect(sockPath);
    c.sock.pause();
    const paused = once(server, 'paused');
    const count = 5000;
    c.sock.write('LIST\r\nREAD c.count\r\n'.repeat(count));
    await paused;
    c.sock.resume();
    for (let i = 0; i < count; i++) {
      const list = await c.reply();
      expect(list.data).toMatch(/^q\.capacity rw$/m);
      expect(await c.reply()).toEqual({ line: "200 Read handler 'c.count' OK", data: '0\n' });
    }
    expect(server.stats()[0].peakReplyBacklog).toBeLessThan(32 * 1024 + 4096);
    c.sock.destroy();
  });

  it('closes a connection whose command line exceeds the limit, with a 500 first', async () => {
    const { sockPath } = await serve({ maxLineBytes: 1000 });
    const c = await RawClient.connect(sockPath);
    c.sock.write(`READ ${'a'.repeat(5000)}`);
    expect((await c.reply()).line).toBe('500 command line longer than 1000 bytes; closing');
    await once(c.sock, 'close');
  });

  it('echoes at most a short prefix of an unknown 5 MB handler name', async () => {
    const { sockPath } = await serve({ maxLineBytes: 8 << 20 });
    const c = await RawClient.connect(sockPath);
    c.sock.write(`READ ${'z'.repeat(5 << 20)}.count\r\nFROB${'y'.repeat(1 << 20)}\r\n`);
    const r = await c.reply();
    expect(r.line).toMatch(/^510 no element named 'z{80}\.\.\.' \(5242880 characters\)$/);
    const frob = await c.reply();
    expect(frob.line.length).toBeLessThan(200);
    expect(frob.line).toMatch(/^501 unimplemented command 'FROBY+\.\.\.' \(1048580 characters\)$/);
    c.sock.destroy();
  });
});

describe('control replies', () => {
  it('an error quoting a value with a bare CR stays one reply line (found by the control-protocol fuzz target)', async () => {
    const { sockPath } = await serve({});
    const c = await RawClient.connect(sockPath);
    c.sock.write('WRITE rt.remove 1.2.3.0/24 9.9.9.9 1\x12\rq\r\nREAD c.count\r\n');
    const err = await c.reply();
    expect(err.line).toMatch(/^520 remove: too many words in route '1\.2\.3\.0\/24 9\.9\.9\.9 1\\x12\\rq'/);
    expect(await c.reply()).toEqual({ line: "200 Read handler 'c.count' OK", data: '0\n' });
    c.sock.destroy();
  });
});

describe('control addresses', () => {
  it('PORT, HOST:PORT and [IPv6]:PORT are TCP; anything else, relative paths included, is a socket path', () => {
    expect(parseControlAddress('7777')).toEqual({ host: '127.0.0.1', port: 7777 });
    expect(parseControlAddress('0.0.0.0:80')).toEqual({ host: '0.0.0.0', port: 80 });
    expect(parseControlAddress('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(parseControlAddress('s.sock')).toEqual({ path: 's.sock' });
    expect(parseControlAddress('./7777')).toEqual({ path: './7777' });
    expect(parseControlAddress('/run/h.sock')).toEqual({ path: '/run/h.sock' });
  });

  it('a port out of range is a clear error, not a validation dump', () => {
    expect(() => parseControlAddress('99999')).toThrow(ControlAddressError);
    expect(() => parseControlAddress('99999')).toThrow("bad control address '99999': port '99999' is not in 0..65535");
    expect(() => parseControlAddress('localhost:70000')).toThrow(/port '70000' is not in 0\.\.65535/);
  });
});
