/**
 * Fuzz target: the control protocol against a real ControlServer on a Router with a small
 * configuration, over a Unix socket. Each input is a sequence of pieces — well-formed commands
 * on real and made-up handlers (READ, WRITE, WRITEDATA with right and wrong byte counts, LIST,
 * CHECKREAD/CHECKWRITE, QUIT), random lines and random bytes — sent on a fresh connection, which
 * the client then half-closes. Must hold: every reply is a well-formed `CODE text` line with a
 * Click status code (and `DATA n` with exactly n bytes after a read), no more replies than
 * commands, the connection ends, and a second, long-lived connection still gets a whole LIST.
 */
import fc from 'fast-check';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { Router } from '../../../core/router.js';
import { elementLibrary } from '../../../elements/index.js';
import { ControlServer, type ControlLimits } from '../../../app/control/control-server.js';
import { ControlClient } from '../../../app/control/control-client.js';
import { GREETING, Status } from '../../../app/control/protocol.js';
import type { FuzzTarget } from '../fuzz-target.js';

const CONFIG = 'Idle -> c :: Counter -> q :: Queue(5) -> rt :: IPLookup(10.0.0.0/8 0, 0.0.0.0/0 1) -> Discard; rt[1] -> d :: Discard;';
const LIMITS: Partial<ControlLimits> = { maxLineBytes: 4096, maxWriteDataBytes: 8192, replyHighWaterBytes: 64 * 1024, stallTimeoutMs: 10_000 };
const CODES = new Set<number>(Object.values(Status));

const handlers = ['c.count', 'c.reset', 'q.capacity', 'q.length', 'q.drops', 'rt.add', 'rt.set', 'rt.remove', 'rt.table', 'rt.lookup', 'rt.memory', 'd.count', 'version', 'list', 'handlers', 'config', 'c.class', 'q.config', 'nosuch.x', 'c.', '.count', 'c..count', ''];
const values = ['0', '1', '5', '-1', '1e3', '99999999999', 'lots', '', '10.1.0.0/16 0', '10.0.0.0/8', '1.2.3.0/24 9.9.9.9 1', '0.0.0.0/0 7', '@b 1.0.0.0/8 0', '300.1.1.1/8 0', '1.2.3.4/33 0', '10.0.0.0/8 - 3', '8.8.8.0/24, 9.9.9.0/24 1'];

type Piece = { kind: 'text'; text: string } | { kind: 'bytes'; bytes: Uint8Array };

const handler = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...handlers) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map((s) => s.replace(/\s/g, '')) });
const value = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...values) }, { weight: 1, arbitrary: fc.string({ maxLength: 30 }) });
const eol = fc.constantFrom('\r\n', '\n', '\r\n');

const command: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom('READ', 'read', 'CHECKREAD', 'CHECKWRITE'), handler, fc.option(value), eol).map(([c, h, v, e]) => `${c} ${h}${v !== null ? ` ${v}` : ''}${e}`),
  fc.tuple(handler, value, eol).map(([h, v, e]) => `WRITE ${h} ${v}${e}`),
  // WRITEDATA with the right count, a wrong one, or one over the limit.
  fc.tuple(handler, value, fc.constantFrom('exact', 'short', 'long', 'huge', 'junk'), eol).map(([h, v, how, e]) => {
    const n = Buffer.byteLength(v, 'latin1');
    const count = how === 'exact' || how === 'long' ? n : how === 'short' ? n + 3 : how === 'huge' ? 100_000_000_000 : 'x';
    return `WRITEDATA ${h} ${count}${e}${v}${how === 'long' ? 'extra' : ''}`;
  }),
  fc.constantFrom('LIST\r\n', 'LIST\n', 'QUIT\r\n', '\r\n', '   \n', 'FROB x\r\n', 'WRITEDATA\r\n', 'READ\r\n'),
);

const piece: fc.Arbitrary<Piece> = fc.oneof(
  { weight: 6, arbitrary: command.map((text) => ({ kind: 'text' as const, text })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((text) => ({ kind: 'text' as const, text })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'bytes' as const, bytes })) },
);

interface Fixture {
  dir: string;
  sockPath: string;
  server: ControlServer;
  /** A connection kept open across inputs: it must still be served after each. */
  probe: ControlClient;
}

async function createFixture(): Promise<Fixture> {
  const quiet = { info: () => undefined, warn: () => undefined };
  const router = Router.fromText(CONFIG, 'fuzz.click', elementLibrary, { log: quiet });
  await router.initialize();
  const server = new ControlServer(router, { limits: LIMITS, log: quiet });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hetbox-fuzz-ctl-'));
  const sockPath = path.join(dir, 'ctl.sock');
  await server.listen({ path: sockPath });
  const probe = await ControlClient.connect({ path: sockPath });
  return { dir, sockPath, server, probe };
}

let fixture: Promise<Fixture> | null = null;

/** Parse everything the server sent on one connection; throws on anything malformed. */
function checkReplies(text: string, commandsSent: number): void {
  let pos = 0;
  const line = (): string | null => {
    const nl = text.indexOf('\r\n', pos);
    if (nl < 0) return null;
    const l = text.slice(pos, nl);
    pos = nl + 2;
    return l;
  };
  if (line() !== GREETING) throw new Error(`bad greeting in ${JSON.stringify(text.slice(0, 80))}`);
  let replies = 0;
  while (pos < text.length) {
    const l = line();
    if (l === null) throw new Error(`unterminated reply ${JSON.stringify(text.slice(pos, pos + 120))}`);
    const m = /^(\d{3}) (.*)$/.exec(l);
    if (m === null || !CODES.has(Number(m[1]))) throw new Error(`malformed reply line ${JSON.stringify(l.slice(0, 200))}`);
    if (l.length > 1000) throw new Error(`reply line of ${l.length} characters`);
    replies++;
    if (m[1] === '200' && m[2].startsWith('Read handler')) {
      const d = line();
      const dm = d === null ? null : /^DATA (\d+)$/.exec(d);
      if (dm === null) throw new Error(`read reply without DATA: ${JSON.stringify(d)}`);
      const n = Number(dm[1]);
      if (pos + n > text.length) throw new Error(`DATA ${n} with ${text.length - pos} bytes left`);
      pos += n;
    }
  }
  if (replies > commandsSent) throw new Error(`${replies} replies to at most ${commandsSent} commands`);
}

export const target: FuzzTarget<Piece[]> = {
  name: 'control-protocol',
  arbitrary: fc.array(piece, { maxLength: 12 }),
  async check(pieces: Piece[]): Promise<void> {
    fixture ??= createFixture();
    const { sockPath, probe } = await fixture;
    const payload = Buffer.concat(pieces.map((p) => (p.kind === 'text' ? Buffer.from(p.text, 'latin1') : Buffer.from(p.bytes))));
    // Upper bound on commands: every line (and every WRITEDATA value) could be one.
    const commandsSent = payload.toString('latin1').split(/\n/).length + pieces.length;
    const sock = net.connect(sockPath);
    sock.on('error', () => undefined);
    await once(sock, 'connect');
    let received = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => (received += d));
    const closed = once(sock, 'close');
    sock.end(payload);
    await closed;
    checkReplies(received, commandsSent);
    const list = await probe.list();
    if (list.code !== 200 || !list.data?.includes('q.capacity rw\n')) throw new Error(`LIST after the input: ${list.code} ${list.text}`);
  },
  async dispose(): Promise<void> {
    if (fixture === null) return;
    const f = await fixture;
    fixture = null;
    f.probe.close();
    await f.server.close();
    rmSync(f.dir, { recursive: true, force: true });
  },
};
