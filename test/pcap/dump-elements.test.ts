/**
 * FromDump and ToDump as elements: configuration (zod, located errors), REPEAT / LIMIT,
 * handlers and summaries, bad-record logging, buffered writing with flush and cleanup, and a
 * FromDump -> Strip(14) -> ToDump run read back by tshark as raw IP.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FromDump, MAX_BAD_RECORD_LOG_LINES, type FromDumpConfig } from '../../elements/from-dump.js';
import { ToDump, type ToDumpConfig } from '../../elements/to-dump.js';
import { Strip } from '../../elements/strip.js';
import { ConfigError } from '../../core/config/source-location.js';
import type { ElementClass } from '../../core/element.js';
import type { PacketBatch } from '../../core/packet-batch.js';
import { PcapReader } from '../../core/pcap/pcap-reader.js';
import { configArgs, flatten, md5, PCAP_DIR, readBatches, tempDir, testEnv, tsharkFrames, tsharkOrFail, type RecordingEnv } from './pcap-test-support.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// The static sides satisfy the contract the config language uses.
const classes: ElementClass<FromDumpConfig | ToDumpConfig>[] = [FromDump as ElementClass<FromDumpConfig | ToDumpConfig>, ToDump as ElementClass<FromDumpConfig | ToDumpConfig>];

function fromDump(env: RecordingEnv, ...args: string[]): FromDump {
  const el = new FromDump({ name: 'src', config: FromDump.parseConfig(configArgs(...args)), env, ninputs: 0, noutputs: 1 });
  el.initialize();
  return el;
}

function toDump(env: RecordingEnv, noutputs: number, ...args: string[]): ToDump {
  const el = new ToDump({ name: 'dump', config: ToDump.parseConfig(configArgs(...args)), env, ninputs: 1, noutputs });
  el.initialize();
  return el;
}

function drain(src: FromDump, batchSize = 256): PacketBatch[] {
  const out: PacketBatch[] = [];
  let seq = 0;
  // Without PREFETCH FromDump answers synchronously; a promise here would be a test mistake.
  const next = (s: number): PacketBatch | null => {
    const b = src.nextBatch(s, batchSize);
    if (b instanceof Promise) throw new Error('drain() needs a FromDump without PREFETCH');
    return b;
  };
  for (let b = next(seq); b !== null; b = next(++seq)) out.push(b);
  expect(next(seq + 1)).toBeNull();
  return out;
}

async function read(el: FromDump | ToDump, handler: string): Promise<string> {
  return el.handlers()[handler].read!();
}

describe('FromDump', () => {
  it('declares itself a source with Click ports and a manual', () => {
    expect(FromDump.isSource).toBe(true);
    expect(FromDump.ports).toEqual({ inputs: '0', outputs: '1' });
    expect(ToDump.ports).toEqual({ inputs: '1', outputs: '0-1' });
    for (const c of classes) expect(c.manual.length).toBeGreaterThan(100);
  });

  it('parses FILE positionally or by keyword, with Click keywords and located errors', () => {
    expect(FromDump.parseConfig(configArgs('x.pcap'))).toEqual({ FILE: 'x.pcap', STOP: false, TIMING: false, REPEAT: 1, PREFETCH: true });
    expect(FromDump.parseConfig(configArgs('FILE "a b.pcap"', 'STOP true', 'TIMING false', 'LIMIT 10', 'REPEAT 3'))).toEqual({ FILE: 'a b.pcap', STOP: true, TIMING: false, LIMIT: 10, REPEAT: 3, PREFETCH: true });
    expect(() => FromDump.parseConfig(configArgs('x.pcap', 'REPEAT 0'))).toThrow(ConfigError);
    expect(() => FromDump.parseConfig(configArgs('x.pcap', 'REPEAT 0'))).toThrow(/^test\.click:1:20: bad REPEAT/);
    expect(() => FromDump.parseConfig(configArgs('x.pcap', 'STOP maybe'))).toThrow(/bad STOP: expected true or false, got 'maybe'/);
    expect(() => FromDump.parseConfig(configArgs('x.pcap', 'END_AFTER 5', 'LIMIT 6'))).toThrow(/END_AFTER and LIMIT are the same setting/);
    expect(() => FromDump.parseConfig(configArgs('x.pcap', 'SAMPLE 0.5'))).toThrow(/unexpected argument 'SAMPLE 0.5'/);
    expect(() => FromDump.parseConfig(configArgs())).toThrow(/bad FILE/);
  });

  it('reads a capture relative to the config directory, with handlers and summary', async () => {
    const env = testEnv(PCAP_DIR);
    const src = fromDump(env, 'pcapplusplus/example.pcap', 'STOP true');
    const batches = drain(src);
    expect(batches.reduce((s, b) => s + b.count, 0)).toBe(4631);
    expect(batches[0].count).toBe(256);
    expect(await read(src, 'count')).toBe('4631');
    expect(await read(src, 'bad_records')).toBe('0');
    expect(await read(src, 'filename')).toBe(path.join(PCAP_DIR, 'pcapplusplus/example.pcap'));
    expect(await read(src, 'link_type')).toBe('1');
    expect(src.summary()).toEqual({ count: 4631, bad_records: 0, passes: 1 });
    expect(env.warnings).toEqual([]);
    src.cleanup();
  });

  it('replays with REPEAT (ids counting on) and stops at END_AFTER / LIMIT exactly', () => {
    const env = testEnv(PCAP_DIR);
    const once = flatten(drain(fromDump(env, 'tcpdump/dns_tcp.pcap')));
    const thrice = flatten(drain(fromDump(env, 'tcpdump/dns_tcp.pcap', 'REPEAT 3'), 4));
    expect(thrice.map((p) => p.id)).toEqual(Array.from({ length: 33 }, (_, i) => i));
    expect(thrice.map((p) => md5(p.bytes))).toEqual([...once, ...once, ...once].map((p) => md5(p.bytes)));
    const limited = fromDump(env, 'pcapplusplus/example.pcap', 'REPEAT 400', 'END_AFTER 300000');
    const counts = drain(limited, 256).map((b) => b.count);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(300_000);
    expect(limited.summary()).toMatchObject({ count: 300_000, passes: 65 });
    const small = drain(fromDump(env, 'tcpdump/dns_tcp.pcap', 'LIMIT 5'), 4);
    expect(small.map((b) => b.count)).toEqual([4, 1]);
    expect(drain(fromDump(env, 'tcpdump/dns_tcp.pcap', 'LIMIT 0'))).toEqual([]);
  });

  it('logs TIMING as ignored', () => {
    const env = testEnv(PCAP_DIR);
    fromDump(env, 'tcpdump/dns_tcp.pcap', 'TIMING true');
    expect(env.infos).toEqual(['src: TIMING is accepted but ignored; packets are emitted as fast as they are consumed']);
  });

  it('fails at initialize naming the file for a bad header or a missing file', () => {
    fs.writeFileSync(path.join(dir, 'bad.pcap'), 'not a capture, just text');
    expect(() => fromDump(testEnv(dir), 'bad.pcap')).toThrow('bad.pcap: not a pcap or pcapng file (magic 0x6e6f7420)');
    expect(() => fromDump(testEnv(dir), 'nope.pcap')).toThrow(/^nope\.pcap: cannot open/);
  });

  it('counts and logs bad records with their packet index, capping the log', async () => {
    const example = new Uint8Array(fs.readFileSync(path.join(PCAP_DIR, 'pcapplusplus/example.pcap')));
    const v = new DataView(example.buffer);
    let p = 24;
    for (let i = 0; i < 7; i++) p += 16 + v.getUint32(p + 8, true);
    fs.writeFileSync(path.join(dir, 'cut.pcap'), example.subarray(0, p + 20));
    const env = testEnv(dir);
    const src = fromDump(env, 'cut.pcap', 'REPEAT 30');
    const got = flatten(drain(src));
    expect(got.length).toBe(7 * 30);
    expect(await read(src, 'bad_records')).toBe('30');
    expect(src.summary()).toEqual({ count: 210, bad_records: 30, passes: 30 });
    expect(env.warnings.length).toBe(MAX_BAD_RECORD_LOG_LINES + 1);
    expect(env.warnings[0]).toBe(`src: cut.pcap: bad record at packet 7 (byte ${p}): truncated record: incl_len ${v.getUint32(p + 8, true)} but only 4 bytes left`);
    expect(env.warnings[1]).toMatch(/bad record at packet 14 /);
    expect(env.warnings[MAX_BAD_RECORD_LOG_LINES]).toBe('src: cut.pcap: 30 bad records in all, 10 not logged');
  });
});

describe('ToDump', () => {
  it('parses NANO, SNAPLEN and ENCAP (by name or number) with clear errors', () => {
    expect(ToDump.parseConfig(configArgs('out.pcap'))).toEqual({ FILE: 'out.pcap', NANO: false, SNAPLEN: 262144 });
    expect(ToDump.parseConfig(configArgs('out.pcap', 'NANO true', 'ENCAP IP', 'SNAPLEN 96'))).toEqual({ FILE: 'out.pcap', NANO: true, SNAPLEN: 96, ENCAP: 101 });
    expect(ToDump.parseConfig(configArgs('out.pcap', 'ENCAP 113')).ENCAP).toBe(113);
    expect(() => ToDump.parseConfig(configArgs('out.pcap', 'ENCAP FDDI'))).toThrow(/bad ENCAP: unknown link type 'FDDI'/);
    expect(() => ToDump.parseConfig(configArgs('out.pcap', 'SNAPLEN 0'))).toThrow(/bad SNAPLEN/);
  });

  it('writes buffered, flushes at end of stream, passes packets on only when output 0 is connected', async () => {
    const env = testEnv(dir);
    const src = fromDump(testEnv(PCAP_DIR), 'tcpdump/dns_tcp.pcap');
    const sink = toDump(env, 0, 'sink.pcap');
    const tee = toDump(env, 1, 'tee.pcap', 'NANO true');
    for (const b of drain(src, 4)) {
      expect(sink.process(b)).toEqual([]);
      expect(tee.process(b)).toEqual([b]);
    }
    const file = path.join(dir, 'sink.pcap');
    expect(fs.statSync(file).size).toBe(0);
    expect(sink.flush()).toEqual([]);
    const size = fs.statSync(file).size;
    expect(size).toBeGreaterThan(24);
    expect(await read(sink, 'count')).toBe('11');
    expect(await read(sink, 'filename')).toBe(file);
    sink.cleanup();
    tee.cleanup();
    expect(fs.statSync(file).size).toBe(size);
    expect(sink.summary()).toEqual({ count: 11, skipped: 0 });
    expect(PcapReader.open(path.join(dir, 'tee.pcap')).precision).toBe(9);
    expect(flatten(readBatches(PcapReader.open(file))).map((p) => md5(p.bytes))).toEqual(flatten(drain(fromDump(testEnv(PCAP_DIR), 'tcpdump/dns_tcp.pcap'))).map((p) => md5(p.bytes)));
  });

  it('skips and counts batches of another link type than the file, warning once', async () => {
    const env = testEnv(dir);
    const dump = toDump(env, 0, 'mixed.pcap', 'ENCAP ether');
    for (const b of drain(fromDump(testEnv(PCAP_DIR), 'pcapplusplus/pcapng-example.pcapng'))) dump.process(b);
    dump.cleanup();
    expect(await read(dump, 'count')).toBe('59');
    expect(await read(dump, 'skipped')).toBe('100');
    expect(env.warnings).toEqual(['dump: mixed.pcap is ethernet (1); skipping packets of link type 113 (linux-sll)']);
  });

  it('FromDump -> Strip(14) -> ToDump: tshark reads raw IP packets equal to the originals minus 14 bytes', async () => {
    const env = testEnv(dir);
    const src = fromDump(testEnv(PCAP_DIR), 'pcapplusplus/example.pcap');
    const strip = new Strip({ name: 'strip', config: Strip.parseConfig(configArgs('14')), env, ninputs: 1, noutputs: 1 });
    const dump = toDump(env, 0, 'ip.pcap');
    const originals: string[] = [];
    for (const b of drain(src)) {
      for (let i = 0; i < b.count; i++) originals.push(md5(b.bytes(i).subarray(14)));
      const [out] = strip.process(b) as PacketBatch[];
      dump.process(out);
    }
    dump.flush();
    dump.cleanup();
    const back = PcapReader.open(path.join(dir, 'ip.pcap'));
    expect(back.linkType).toBe(101);
    expect(flatten(readBatches(back)).map((p) => md5(p.bytes))).toEqual(originals);
    if (!tsharkOrFail()) return;
    const frames = await tsharkFrames(path.join(dir, 'ip.pcap'));
    expect(frames.map((f) => f.md5)).toEqual(originals);
    expect(frames.every((f) => f.encap === 7)).toBe(true);
  });
});
