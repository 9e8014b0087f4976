/**
 * The gpujs backend's form of kernel `flow-lookup`, one variant per gpu.js mode: murmur3_32,
 * the two candidate buckets and the key compare over 8-bit limbs and 16-bit halves
 * (flow-lookup-walk.ts), exact in f32. The host splits the ten key columns into their 40 bytes
 * and reads the seed and geometry from the image's header; the device returns entry indices.
 *
 * Limits: the backend holds images below 2^24 words (loadStructure refuses more with
 * BackendRefusal, so the host falls back visibly); with >= 16 words per entry an entry index
 * is then below 2^20, exact in f32. A key byte's index, 40 * count + item, must stay below
 * 2^24 too, so a batch runs in calls of at most MAX_KEYS_PER_CALL keys.
 */
import { BackendRefusal } from '../../../core/backend.js';
import { registerKernel } from '../../../core/kernel.js';
import { KEY_WORDS } from '../../../core/flows/flow-key.js';
import { FLOW_KEY_COLUMNS, FLOW_LOOKUP, flowLookupContract } from '../../../core/kernels/flow-lookup/index.js';
import { E_KEY, ENTRY_USED, H_BUCKETS, H_ENTRY_WORDS, H_SEED, H_SLOTS, HEADER_WORDS } from '../../../core/structures/flow-table/flow-table-image.js';
import { GPUJS_MAX_IMAGE_WORDS, type GpuJsBackend } from '../gpujs-backend.js';
import { XOR8 } from './flow-hash-limbs.js';
import { flowLookupKernel } from './flow-lookup-walk.js';

/** Keys per kernel call: their 4 * KEY_WORDS byte columns keep every index below 2^24. */
export const MAX_KEYS_PER_CALL = 2 ** 18;

// The walk spells the layout as literals (gpu.js kernels see no module constants): a layout
// change must fail here, not answer wrongly.
if (HEADER_WORDS !== 8 || KEY_WORDS !== 10 || E_KEY !== 1 || ENTRY_USED !== 0x80000000) {
  throw new Error('gpujs flow-lookup: flow-lookup-walk.ts assumes an 8-word header, 10 key words at entry word 1 and ENTRY_USED = bit 31');
}
if (4 * KEY_WORDS * MAX_KEYS_PER_CALL >= 2 ** 24) throw new Error('gpujs flow-lookup: MAX_KEYS_PER_CALL lets key byte indices reach 2^24');

for (const mode of ['cpu', 'webasm', 'webgpu'] as const) {
  registerKernel<GpuJsBackend, typeof flowLookupContract>(flowLookupContract, {
    backend: 'gpujs',
    variant: mode,
    source: import.meta.url,
    async run(backend, io, structures) {
      const s = backend.splitImage(structures[0]);
      const image = s.image;
      // loadStructure refuses these already; a structure that got here some other way is refused the same way.
      if (image.length >= GPUJS_MAX_IMAGE_WORDS) throw new BackendRefusal('gpujs', `flow table of ${image.length} words: entry and word indices above 2^24 are not exact in gpu.js's float32`);
      const n = io.count;
      if (n === 0) return;
      const buckets = image[H_BUCKETS];
      const slots = image[H_SLOTS];
      const ew = image[H_ENTRY_WORDS];
      const seed = image[H_SEED] >>> 0;
      const k = backend.kernel(FLOW_LOOKUP, flowLookupKernel as unknown as (...args: never[]) => number);
      const out = io.outputs.entry;
      const cols = FLOW_KEY_COLUMNS.map((name) => io.inputs[name]);
      for (let from = 0; from < n; from += MAX_KEYS_PER_CALL) {
        const m = Math.min(MAX_KEYS_PER_CALL, n - from);
        const bytes = new Float32Array(4 * KEY_WORDS * m);
        for (let w = 0; w < KEY_WORDS; w++) {
          const col = cols[w];
          const base = 4 * w * m;
          for (let i = 0; i < m; i++) {
            const x = col[from + i];
            bytes[base + i] = x & 255;
            bytes[base + m + i] = (x >>> 8) & 255;
            bytes[base + 2 * m + i] = (x >>> 16) & 255;
            bytes[base + 3 * m + i] = x >>> 24;
          }
        }
        k.setOutput([m]);
        const found = await k(s.hi, s.lo, bytes, XOR8, m, seed & 255, (seed >>> 8) & 255, (seed >>> 16) & 255, seed >>> 24, buckets, slots, ew);
        for (let i = 0; i < m; i++) out[from + i] = found[i];
      }
    },
  });
}
