/**
 * The reader thread (ThreadedPcapReader) against the synchronous PcapReader, the reference: the
 * same packets (bytes, headroom, ids, lengths, timestamps) and the same bad-record reports, on
 * every classic capture of shared/data and on generated edge cases, with small rings, record
 * rings and reads so that laps, records cut by a read or a lap, and stalls happen often.
 * Batches stay zero-copy and untouched until released; FromDump uses the thread for large files
 * (REPEAT, LIMIT) and says when it cannot (pcapng, gzip).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { PcapReader } from '../../core/pcap/pcap-reader.js';
import { openCapture, type CaptureReader, type OpenCaptureOptions } from '../../core/pcap/open-capture.js';
import { ThreadedPcapReader } from '../../core/pcap/threaded-pcap-reader.js';
import { READ_WORKER_CELLS } from '../../core/pcap/read-worker-body.js';
import * as ring from '../../core/pcap/read-ring.js';
import type { BadRecord } from '../../core/pcap/pcap-errors.js';
import type { PacketBatch } from '../../core/packet-batch.js';
import { FromDump } from '../../elements/from-dump.js';
import { buildClassicPcap, buildPcapng, fakeBytes, type GenPacket } from './capture-builder.js';
import { PROJECT_ROOT, configArgs, md5, sharedCaptures, tempDir, testEnv } from './pcap-test-support.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Small everything: a lap every few hundred KiB, the record ring full every 64 packets, reads that cut records. */
const SMALL: OpenCaptureOptions = { thread: true, threadMinBytes: 0, ringBytes: 1, recordCapacity: 64, threadPieceBytes: 4093 };

/** One line per packet: id, lengths, timestamp, headroom and packet bytes. */
function describePacket(b: PacketBatch, i: number): string {
  return `${b.id[i]} ${b.length[i]} ${b.wireLength[i]} ${b.tsSec[i]}.${b.tsNsec[i]} ${b.offset[i] - b.base[i]} ${md5(b.data.subarray(b.base[i], b.offset[i] + b.length[i]))}`;
}

interface Digest {
  packets: string[];
  bad: BadRecord[];
  batches: number;
}

/** Every packet of `passes` passes, releasing each batch `lag` batches later; packets are edited in place after being read. */
async function digest(reader: CaptureReader, passes: number, batchSize: number, lag = 2): Promise<Digest> {
  const packets: string[] = [];
  let seq = 0;
  for (let pass = 0; pass < passes; pass++) {
    if (pass > 0) reader.rewind();
    for (;;) {
      const got = reader.nextBatch(seq, batchSize);
      const b = got instanceof Promise ? await got : got;
      if (b === null) break;
      for (let i = 0; i < b.count; i++) {
        packets.push(describePacket(b, i));
        // Edited in place, as elements do: must not show in later packets or passes.
        b.data[b.offset[i]] ^= 0xff;
      }
      reader.release(seq - lag);
      seq++;
    }
  }
  const bad = [...reader.badRecords];
  await reader.close();
  return { packets, bad, batches: seq };
}

function write(name: string, bytes: Uint8Array): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, bytes);
  return f;
}

function threaded(file: string, opts: OpenCaptureOptions = SMALL): ThreadedPcapReader {
  const { reader } = openCapture(file, { ...opts, maxBadRecords: 10 });
  if (!(reader instanceof ThreadedPcapReader)) throw new Error(`${file}: expected a reader thread`);
  return reader;
}

function packets(n: number, size: (i: number) => number, nano = false): GenPacket[] {
  return Array.from({ length: n }, (_, i) => ({ bytes: fakeBytes(i + 1, size(i)), tsSec: 1_600_000_000 + i, tsFrac: nano ? i * 7919 : i * 13 }));
}

describe('ThreadedPcapReader', () => {
  it('uses the ctrl cells read-ring.ts names', () => {
    expect(READ_WORKER_CELLS).toEqual({
      WRITTEN: ring.C_WRITTEN,
      CONSUMED: ring.C_CONSUMED,
      RELEASED: ring.C_RELEASED,
      CMD: ring.C_CMD,
      PASS_DONE: ring.C_PASS_DONE,
      SIGNAL: ring.C_SIGNAL,
      WAKE: ring.C_WAKE,
      STALLED: ring.C_WORKER_STALLED,
      MAIN_WAITING: ring.C_MAIN_WAITING,
      END_KIND: ring.C_END_KIND,
      END_A: ring.C_END_A,
      END_B: ring.C_END_B,
      MESSAGE_LENGTH: ring.C_MESSAGE_LENGTH,
      MAIN_WANTS: ring.C_MAIN_WANTS,
      WAKE_CONSUMED: ring.C_WAKE_CONSUMED,
      WAKE_RELEASED: ring.C_WAKE_RELEASED,
      READY: ring.C_READY,
    });
  });

  it('yields what PcapReader yields on every classic capture of shared/data, over two passes', async () => {
    const classic = sharedCaptures().filter((f) => f.endsWith('.pcap'));
    expect(classic.length).toBeGreaterThan(10);
    let threads = 0;
    for (const file of classic) {
      const ref = await digest(PcapReader.open(file, { maxBadRecords: 10 }), 2, 100);
      const { reader, threadless } = openCapture(file, { ...SMALL, maxBadRecords: 10 });
      // A few shared files are pcapng under a .pcap name: those stay on the main thread, and say so.
      if (reader instanceof ThreadedPcapReader) threads++;
      else expect(threadless).toMatch(/pcapng/);
      const got = await digest(reader, 2, 100);
      expect(got.packets, file).toEqual(ref.packets);
      expect(got.bad, file).toEqual(ref.bad);
    }
    expect(threads).toBeGreaterThan(10);
  });

  it('reports truncated and absurd records as PcapReader does, after every packet before them', async () => {
    const base = buildClassicPcap({}, packets(300, (i) => 60 + ((i * 37) % 1400)));
    const cases: [string, Uint8Array][] = [
      ['truncated-record', base.subarray(0, base.length - 10)],
      ['truncated-header', base.subarray(0, base.length - (60 + ((299 * 37) % 1400)) - 9)],
      ['clean', base],
    ];
    const absurd = base.slice();
    // Record 200's incl_len: far past MAX_PACKET.
    let off = 24;
    for (let i = 0; i < 200; i++) off += 16 + new DataView(absurd.buffer).getUint32(off + 8, true);
    new DataView(absurd.buffer).setUint32(off + 8, 0x7fffffff, true);
    cases.push(['absurd', absurd]);
    for (const [name, bytes] of cases) {
      const file = write(`${name}.pcap`, bytes);
      const ref = await digest(PcapReader.open(file), 3, 64);
      const got = await digest(threaded(file), 3, 64);
      expect(got.packets, name).toEqual(ref.packets);
      expect(got.bad, name).toEqual(ref.bad);
      expect(got.bad.length, name).toBe(name === 'clean' ? 0 : 3);
    }
  });

  it('reads big-endian nanosecond files, out-of-range fractions and full-size records', async () => {
    const pk = packets(40, (i) => (i % 5 === 0 ? 262144 : 1 + i * 11), true);
    pk[3] = { ...pk[3], tsFrac: 3_500_000_000 };
    const file = write('be-nano.pcap', buildClassicPcap({ littleEndian: false, nano: true }, pk));
    const ref = await digest(PcapReader.open(file), 2, 7);
    // Batches of up to two full-size records, three held at a time (lag 2): a ring with room for them.
    const got = await digest(threaded(file, { ...SMALL, ringBytes: 4 << 20 }), 2, 7);
    expect(got.packets).toEqual(ref.packets);
    expect(got.packets.length).toBe(80);
  });

  it('leaves the bytes of unreleased batches alone while it reads on (zero-copy)', async () => {
    const file = write('hold.pcap', buildClassicPcap({}, packets(3000, (i) => 200 + (i % 700))));
    const reader = threaded(file);
    const held: { batch: PacketBatch; lines: string[] }[] = [];
    // 13 batches of 50 (about 360 KiB) held, none released: less than the ring (512 KiB), so the
    // worker reads on up to them, laps and stops short of them; their bytes must be untouched.
    for (let seq = 0; seq < 13; seq++) {
      const got = reader.nextBatch(seq, 50);
      const b = got instanceof Promise ? await got : got;
      if (b === null) throw new Error('hold.pcap ended early');
      held.push({ batch: b, lines: Array.from({ length: b.count }, (_, i) => describePacket(b, i)) });
    }
    for (const h of held) expect(Array.from({ length: h.batch.count }, (_, i) => describePacket(h.batch, i))).toEqual(h.lines);
    expect(held.every((h) => h.batch.data === held[0].batch.data && h.batch.data.buffer instanceof SharedArrayBuffer)).toBe(true);
    // Released, it reads on to the end, every packet once.
    reader.release(held.length - 1);
    let n = held.reduce((s, h) => s + h.batch.count, 0);
    for (let seq = held.length; ; seq++) {
      const got = reader.nextBatch(seq, 50);
      const b = got instanceof Promise ? await got : got;
      if (b === null) break;
      n += b.count;
      reader.release(seq);
    }
    expect(n).toBe(3000);
    await reader.close();
  });

  it('stops its thread when closed while it waits for room', async () => {
    const file = write('stall.pcap', buildClassicPcap({}, packets(5000, () => 900)));
    const reader = threaded(file);
    await reader.ready();
    const got = reader.nextBatch(0, 64);
    expect(got instanceof Promise ? await got : got).not.toBeNull();
    // Nothing released: the worker fills the ring and waits. close() must end it anyway.
    await reader.close();
  });
});

describe('FromDump on a reader thread', () => {
  const big = write('big.pcap', buildClassicPcap({}, packets(7000, (i) => 64 + ((i * 131) % 1400))));

  async function run(file: string, prefetch: boolean, ...more: string[]): Promise<{ lines: string[]; el: FromDump; env: ReturnType<typeof testEnv> }> {
    const env = testEnv(dir);
    const el = new FromDump({ name: 'src', config: FromDump.parseConfig(configArgs(`FILE ${file}`, `PREFETCH ${prefetch}`, ...more)), env, ninputs: 0, noutputs: 1 });
    await el.initialize();
    const lines: string[] = [];
    for (let seq = 0; ; seq++) {
      const got = el.nextBatch(seq, 256);
      const b = got instanceof Promise ? await got : got;
      if (b === null) break;
      for (let i = 0; i < b.count; i++) lines.push(describePacket(b, i));
      el.release(seq);
    }
    await el.cleanup();
    return { lines, el, env };
  }

  it('gives the packets of synchronous reads, with REPEAT and LIMIT', async () => {
    expect(fs.statSync(big).size).toBeGreaterThan(4 << 20);
    const sync = await run(big, false, 'REPEAT 3', 'LIMIT 17000');
    const thread = await run(big, true, 'REPEAT 3', 'LIMIT 17000');
    expect(thread.lines.length).toBe(17000);
    expect(thread.lines).toEqual(sync.lines);
    expect(thread.el.summary()).toEqual(sync.el.summary());
  });

  /**
   * A fresh node process that builds a router from `config` through dist/ (as `hetbox` does) and
   * never initializes or runs it; its exit code and output once it has exited on its own.
   */
  function buildOnly(config: string): Promise<{ code: number | null; out: string }> {
    const router = path.join(PROJECT_ROOT, 'dist', 'core', 'router.js');
    if (!fs.existsSync(router)) throw new Error(`${router} missing: run 'npm run build' (npm test does)`);
    const script = `
      const { Router } = await import(${JSON.stringify(router)});
      const { elementLibrary } = await import(${JSON.stringify(path.join(PROJECT_ROOT, 'dist', 'elements', 'index.js'))});
      try {
        Router.fromText(${JSON.stringify(config)}, ${JSON.stringify(path.join(dir, 'build-only.click'))}, elementLibrary);
        console.log('built');
      } catch (e) {
        console.log('failed: ' + e.message);
      }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    // Generous: a loaded machine; a process kept alive by the reader thread never exits, and the test's timeout ends it.
    return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
  }

  it('lets a process exit that built a router with a FromDump and never ran it', async () => {
    // The reader thread starts while the router is built (FromDump's constructor), before initialize.
    expect(fs.statSync(big).size).toBeGreaterThan(4 << 20);
    const built = await buildOnly(`FromDump(FILE "${big}") -> Discard;`);
    expect(built).toEqual({ code: 0, out: 'built\n' });
    // An element after it fails to build: the FromDump already built is dropped unused.
    const failed = await buildOnly(`FromDump(FILE "${big}") -> IPLookup(FIB "${path.join(dir, 'no-such-routes.txt')}") -> Discard;`);
    expect(failed.code).toBe(0);
    expect(failed.out).toMatch(/^failed: .*no-such-routes\.txt/);
  }, 120_000);

  it('stops a reader thread started at construction on cleanup without initialize', async () => {
    const el = new FromDump({ name: 'src', config: FromDump.parseConfig(configArgs(`FILE ${big}`)), env: testEnv(dir), ninputs: 0, noutputs: 1 });
    await el.cleanup();
    expect(el.summary()).toEqual({ count: 0, bad_records: 0, passes: 1 });
  });

  it('says so when a file cannot go to the reader thread (pcapng, gzip)', async () => {
    const ng = write('big.pcapng', buildPcapng([{ kind: 'shb', littleEndian: true }, { kind: 'idb', linkType: 1 }, ...Array.from({ length: 5000 }, (_, i) => ({ kind: 'epb' as const, iface: 0, ticks: BigInt(i), bytes: fakeBytes(i, 1000) }))]));
    const gz = write('big.pcap.gz', zlib.gzipSync(fs.readFileSync(big)));
    const a = await run(ng, true);
    expect(a.lines.length).toBe(5000);
    expect(a.env.infos.join('\n')).toMatch(/pcapng is read on the main thread/);
    const b = await run(gz, true);
    expect(b.lines.length).toBe(7000);
    expect(b.env.infos.join('\n')).toMatch(/gzip input is read on the main thread/);
  });
});
