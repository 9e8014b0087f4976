/**
 * FlowHash: the RSS Toeplitz hash of real packets equals the bit-serial definition from the
 * specification over fields parsed here independently; outputs follow the indirection table so
 * one flow stays on one output; non-IPv4 is counted; other backends give the same flows.
 */
import { afterAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { FlowHash } from '../../elements/flow-hash.js';
import { RSS_DEFAULT_KEY, toeplitzHash } from '../../core/kernels/flow-hash/index.js';
import { backendAvailability, disposeBackends, getBackend } from '../../core/backend-registry.js';
import { DATA, batchOf, make, readPcap, testEnv } from './helpers.js';
import { requireOrWarn } from '../backends/availability.js';

/** The RSS input bytes of an Ethernet/IPv4 frame, parsed without the element's code. */
function rssInput(frame: Uint8Array): Uint8Array | null {
  if (frame.length < 34 || frame[12] !== 0x08 || frame[13] !== 0x00) return null;
  const ip = frame.subarray(14);
  const ihl = (ip[0] & 15) * 4;
  const fragment = (((ip[6] & 0x3f) << 8) | ip[7]) !== 0;
  const withPorts = (ip[9] === 6 || ip[9] === 17) && !fragment && ip.length >= ihl + 4;
  const bytes = new Uint8Array(withPorts ? 12 : 8);
  bytes.set(ip.subarray(12, 20));
  if (withPorts) bytes.set(ip.subarray(ihl, ihl + 4), 8);
  return bytes;
}

const frames = readPcap(path.join(DATA, 'pcaps/pcapplusplus/example.pcap')).packets;

afterAll(() => disposeBackends());

describe('FlowHash', () => {
  it('hashes real packets exactly as the RSS specification defines', async () => {
    const el = make(FlowHash, ['OFFSET 14']);
    const b = batchOf(frames);
    const [out] = await el.process(b);
    const flow = out!.anno('flow');
    let checked = 0;
    frames.forEach((f, i) => {
      const input = rssInput(f);
      const want = input === null ? 0 : toeplitzHash(RSS_DEFAULT_KEY, input) | 0;
      expect(flow[i], `packet ${i}`).toBe(want);
      if (input !== null) checked++;
    });
    expect(checked).toBe(4631);
  });

  it('keeps each flow on one output (indirection table) and counts what it cannot hash', async () => {
    const el = make(FlowHash, ['OFFSET 14'], 4);
    const arp = new Uint8Array(42);
    arp[12] = 0x08;
    arp[13] = 0x06;
    const b = batchOf([...frames.slice(0, 1000), arp, new Uint8Array(10)]);
    const outs = await el.process(b);
    const where = new Map<string, number>();
    let total = 0;
    outs.forEach((o, port) => {
      if (o === null) return;
      total += o.count;
      for (let i = 0; i < o.count; i++) {
        const id = o.id[i];
        const f = id < 1000 ? frames[id] : null;
        const key = f === null ? `other${id}` : [...(rssInput(f) ?? [])].join('.');
        if (where.has(key)) expect(where.get(key), `flow ${key}`).toBe(port);
        where.set(key, port);
        expect((o.anno('flow')[i] & 127) % 4).toBe(port);
      }
    });
    expect(total).toBe(1002);
    expect(outs.filter((o) => o !== null && o.count > 0).length).toBeGreaterThan(1);
    expect(await el.handlers().unhashable.read!()).toBe('2');
    expect(await el.handlers().count.read!()).toBe('1002');
  });

  for (const backend of ['webgpu', 'null'] as const) {
    it(`BACKEND ${backend}: the same flows as cpu`, async () => {
      if (!requireOrWarn(backend, await backendAvailability(backend))) return;
      const env = { ...testEnv(), strictBackends: true, backend: getBackend };
      const el = make(FlowHash, ['OFFSET 14', `BACKEND ${backend}`], 1, env);
      await el.initialize();
      const ref = make(FlowHash, ['OFFSET 14']);
      const [got] = await el.process(batchOf(frames));
      const [want] = await ref.process(batchOf(frames));
      expect(Array.from(got!.anno('flow').subarray(0, got!.count))).toEqual(Array.from(want!.anno('flow').subarray(0, want!.count)));
      expect(el.summary().backend).toBe(backend);
      // Each element counts its own runs per (kernel, backend): offloaded here, inline cpu there.
      expect(await el.handlers().kernel_stats.read!()).toMatch(new RegExp(`^flow-hash ${backend} batches 1 items ${frames.length} host_ms [0-9.]+`));
      expect(await ref.handlers().kernel_stats.read!()).toMatch(new RegExp(`^flow-hash cpu batches 1 items ${frames.length} host_ms [0-9.]+\\n$`));
      await el.cleanup();
    });
  }
});
