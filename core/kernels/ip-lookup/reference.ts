/**
 * The CPU forms of kernel `ip-lookup`.
 *
 * - `ipLookupReference` is the reference: one `lookupImage` per item
 *   (core/structures/multi-fib/image-format.ts, the image format's own definition of a lookup).
 *   Every other form is tested to answer exactly what it answers, item by item.
 * - `ipLookupCpu` is the fast walk the cpu backend runs: `lookupBatch`
 *   (core/structures/multi-fib/lookup-batch.ts), the same walk written for V8's int32 path in
 *   two passes per node level. IPLookup without BACKEND calls this very function.
 */
import { lookupImage } from '../../structures/multi-fib/image-format.js';
import { lookupBatch } from '../../structures/multi-fib/lookup-batch.js';
import type { IpLookupIo } from './contract.js';

export { lookupImage, lookupBatch };

/** The reference form: one `lookupImage` per item; -1 (NO_NEXT_HOP) where no route matches. */
export function ipLookupReference(image: Uint32Array | Int32Array, io: IpLookupIo): void {
  const { dst, vrf } = io.inputs;
  const out = io.outputs.nextHop;
  for (let i = 0; i < io.count; i++) out[i] = lookupImage(image, vrf[i], dst[i]);
}

/** The cpu backend's form (and IPLookup's inline path): `lookupBatch` over the image's int32 view. */
export function ipLookupCpu(image: Int32Array, io: IpLookupIo): void {
  const { dst, vrf } = io.inputs;
  const out = io.outputs.nextHop;
  if (dst.length < io.count || vrf.length < io.count || out.length < io.count) throw new Error(`ip-lookup: columns are shorter than count ${io.count}`);
  lookupBatch(image, vrf, dst, out, io.count);
}
