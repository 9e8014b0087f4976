/**
 * IPLookup with BACKEND webgpu / fpga / null: the element's answers equal the CPU reference on a
 * real table, before and after route changes written through its handlers (deltas forwarded to
 * the resident image), and the element says where its kernel runs.
 */
import { afterAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { Router } from '../../core/router.js';
import { elementLibrary } from '../../elements/index.js';
import { PacketBatch } from '../../core/packet-batch.js';
import { lookupImage } from '../../core/structures/multi-fib/image-format.js';
import { backendAvailability, disposeBackends, getBackend } from '../../core/backend-registry.js';
import type { BackendName } from '../../core/backend.js';
import type { IPLookup } from '../../elements/ip-lookup.js';
import { DATA, pcapAddresses, rng } from '../kernels/fixtures.js';
import { requireOrWarn } from '../backends/availability.js';

const warnings: string[] = [];
const log = { info: () => undefined, warn: (m: string) => warnings.push(m) };
const LINX = path.join(DATA, 'routes', 'preprocessed-ipv4.rib.20170101.0000.txt');

function batchOf(addrs: readonly number[], vrf: readonly number[] | null): PacketBatch {
  const b = new PacketBatch({ seq: 0, capacity: addrs.length, data: new Uint8Array(0) });
  const dst = b.anno('dst');
  for (let i = 0; i < addrs.length; i++) {
    b.id[i] = i;
    dst[i] = addrs[i] | 0;
  }
  if (vrf !== null) b.anno('vrf').set(vrf);
  b.count = addrs.length;
  return b;
}

function addresses(): number[] {
  const r = rng(7);
  const out = pcapAddresses('pcapplusplus/example.pcap').slice(0, 4000);
  for (let i = 0; i < 6000; i++) out.push(r());
  return out;
}

afterAll(() => disposeBackends());

describe('IPLookup on backends', () => {
  const backends: BackendName[] = ['webgpu', 'fpga', 'null'];
  for (const name of backends) {
    it(`BACKEND ${name}: same answers as the CPU reference, before and after handler updates`, async () => {
      if (!requireOrWarn(name, await backendAvailability(name))) return;
      await getBackend(name);
      const r = Router.fromText(`Idle -> rt :: IPLookup(FIBS a=${LINX} b=${LINX}, BACKEND ${name}) -> Discard;`, 'b.click', elementLibrary, { log, strictBackends: true, backends: getBackend });
      await r.initialize();
      const rt = r.graph.byName.get('rt')!.element as IPLookup;
      expect(await r.handler('rt.backend').read!()).toBe(name);
      const addrs = addresses();
      const vrf = addrs.map((_, i) => (i % 3 === 2 ? 5 : i % 2)); // FIB 5 does not exist: no route
      const check = async (): Promise<void> => {
        const b = batchOf(addrs, vrf);
        const [out] = await rt.process(b);
        const nh = out!.anno('nextHop');
        for (let i = 0; i < addrs.length; i++) {
          const want = vrf[i] > 1 ? -1 : lookupImage(rt.image, vrf[i], addrs[i]);
          if (nh[i] !== want) throw new Error(`item ${i}: ${name} answered ${nh[i]}, reference ${want}`);
        }
      };
      await check();
      // Route changes through the handlers become deltas on the resident image.
      await r.handler('rt.add').write!('10.0.0.0/8 192.0.2.1 0, 8.8.8.0/25 192.0.2.2 0, @b 1.0.4.0/23 192.0.2.3 0');
      await r.handler('rt.remove').write!('@b 0.0.0.0/0');
      await r.handler('rt.set').write!('1.0.4.0/24 192.0.2.9 0');
      await check();
      expect(rt.summary().backend).toBe(name);
      // Every run is counted per (kernel, backend), with the device's figures where it has them.
      const stats = await r.handler('rt.kernel_stats').read!();
      expect(stats).toMatch(new RegExp(`^ip-lookup ${name} batches 2 items ${2 * addrs.length} host_ms [0-9.]+`));
      if (name === 'fpga') expect(stats).toMatch(/ cycles \d+ /);
      if (name === 'null') expect(stats).toMatch(/ simulatedNs \d+/);
      await r.cleanup();
    });
  }

  it('without BACKEND: the inline cpu form is counted as cpu in kernel_stats', async () => {
    const r = Router.fromText(`Idle -> rt :: IPLookup(FIB ${LINX}) -> Discard;`, 'c.click', elementLibrary, { log, backends: getBackend });
    await r.initialize();
    const rt = r.graph.byName.get('rt')!.element as IPLookup;
    expect(await r.handler('rt.kernel_stats').read!()).toBe('');
    const addrs = addresses();
    const [out] = await rt.process(batchOf(addrs, null));
    const nh = out!.anno('nextHop');
    for (let i = 0; i < addrs.length; i++) expect(nh[i]).toBe(lookupImage(rt.image, 0, addrs[i]));
    expect(await r.handler('rt.kernel_stats').read!()).toMatch(new RegExp(`^ip-lookup cpu batches 1 items ${addrs.length} host_ms [0-9.]+\n$`));
    expect(await r.handler('rt.backend').read!()).toBe('cpu (inline)');
    await r.cleanup();
  });
});
