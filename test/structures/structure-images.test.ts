/**
 * Structure images are the same on every backend, word for word: `words` is the logical length
 * and readStructure returns exactly the image after any run of deltas that grow and shrink it
 * (migration compares images read back from two backends). The host copy here is the plain
 * definition: a delta sets the length, keeps the words below it, zeroes the ones it adds, then
 * writes. Also: the kind registry is open (a kind registered here, unknown to core and to every
 * backend, is held everywhere) and every backend refuses an image or delta its kind rejects.
 *
 * Under CI=true every backend must be available; elsewhere a missing one is skipped loudly.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, StructureHandle } from '../../core/backend.js';
import { describeBackends, disposeBackends, getBackend } from '../../core/backend-registry.js';
import type { ImageDelta } from '../../core/structures/image.js';
import { HEADER_WORDS, H_MAGIC, H_USED_WORDS, MULTI_FIB_V4 } from '../../core/structures/multi-fib/image-format.js';
import { registerStructureKind, structureKind } from '../../core/structures/structure-kinds.js';
import { requireOrWarn } from '../backends/availability.js';
import { loadRoutes, multiFibOf, rng } from '../kernels/fixtures.js';

/** A kind this test owns: a 4-word header (magic, length) then free words, as a flow table might be. */
const TEST_KIND = 'test-words-v1';
const TEST_MAGIC = 0x54455354;
registerStructureKind({
  kind: TEST_KIND,
  description: 'words with a 4-word header (test/structures)',
  publishWords: 4,
  checkImage: (img) => (img.length < 4 ? 'shorter than its header' : img[0] !== TEST_MAGIC ? 'bad magic' : img[1] !== img.length ? `header says ${img[1]} words` : null),
  // A stricter rule than the multi-FIB's: every length change must be written to the header.
  checkDelta: (d, length) => {
    let written: number | undefined;
    for (const w of d.writes) if (w.offset <= 1 && 1 < w.offset + w.words.length) written = w.words[1 - w.offset];
    if (d.length < 4) return 'shorter than its header';
    if (written === undefined ? d.length !== length : written !== d.length) return `length ${d.length} not in its header`;
    return null;
  },
});

/** The host copy: the definition of applying a delta, independent of every backend's code. */
function applyReference(image: Uint32Array, delta: ImageDelta): Uint32Array {
  const out = new Uint32Array(delta.length);
  out.set(image.subarray(0, Math.min(image.length, delta.length)));
  for (const w of delta.writes) out.set(w.words, w.offset);
  return out;
}

/** Deltas from `base` (length L, generation g) that grow by one word, grow by thousands, shrink, regrow over dropped words, and shrink back. */
function growShrinkDeltas(kind: string, base: Uint32Array, generation: number, lengthWord: number): ImageDelta[] {
  const L = base.length;
  const r = rng(11);
  const fill = (n: number): Uint32Array => Uint32Array.from({ length: n }, () => r() >>> 0);
  const steps: { length: number; writes: { offset: number; words: Uint32Array }[] }[] = [
    { length: L + 1, writes: [{ offset: L, words: Uint32Array.of(0xdeadbeef) }] },
    // Only some of the new words are written: the rest must read zero everywhere.
    { length: L + 5001, writes: [{ offset: L + 100, words: fill(3000) }, { offset: L + 4000, words: fill(7) }] },
    { length: L + 200, writes: [{ offset: L + 150, words: fill(10) }] },
    // Regrowth over words the shrink dropped: they were non-zero before, they are zero now.
    { length: L + 3000, writes: [{ offset: L + 2990, words: fill(5) }] },
    { length: L + 3000, writes: [{ offset: HEADER_WORDS, words: base.subarray(HEADER_WORDS, HEADER_WORDS + 4) }] },
    { length: L, writes: [] },
  ];
  return steps.map((s, i) => ({
    kind,
    fromGeneration: generation + i,
    toGeneration: generation + i + 1,
    length: s.length,
    // The new length goes in the header last, as a publishing write.
    writes: [...s.writes, { offset: lengthWord, words: Uint32Array.of(s.length) }],
  }));
}

const backends = (await describeBackends()).map((d) => ({ name: d.name, variant: d.variant, label: d.variant === undefined ? d.name : `${d.name}/${d.variant}`, availability: d.availability }));

afterAll(async () => {
  await disposeBackends();
});

const mf = multiFibOf([loadRoutes('mae-west.txt')]);
const fibImage = mf.image.slice();

function testImage(words: number): Uint32Array {
  const img = new Uint32Array(words);
  img[0] = TEST_MAGIC;
  img[1] = words;
  for (let i = 4; i < words; i++) img[i] = Math.imul(i, 2654435761) >>> 0;
  return img;
}

async function growAndShrink(backend: Backend, label: string, kind: string, base: Uint32Array, generation: number, lengthWord: number): Promise<void> {
  const h: StructureHandle = await backend.loadStructure(kind, base.slice(), generation);
  try {
    expect(h.words).toBe(base.length);
    let host: Uint32Array = base.slice();
    for (const d of growShrinkDeltas(kind, base, generation, lengthWord)) {
      await backend.applyDelta(h, d);
      host = applyReference(host, d);
      const back = await backend.readStructure(h);
      expect({ label, generation: h.generation, words: h.words, length: back.length }).toEqual({ label, generation: d.toGeneration, words: host.length, length: host.length });
      let first = -1;
      for (let i = 0; i < host.length && first < 0; i++) if (back[i] !== host[i]) first = i;
      expect(first, `${label}: first differing word after delta ->${d.toGeneration} (length ${d.length})`).toBe(-1);
    }
  } finally {
    await backend.releaseStructure(h);
  }
}

describe.each(backends)('structure images on $label', ({ name, variant, label, availability }) => {
  const ok = requireOrWarn(label, availability);

  it(`${MULTI_FIB_V4}: words and readStructure equal the host copy while deltas grow and shrink the image`, async (ctx) => {
    if (!ok) return ctx.skip();
    await growAndShrink(await getBackend(name, variant), label, MULTI_FIB_V4, fibImage, mf.generation, H_USED_WORDS);
  });

  it('holds a kind registered outside core and the backends (the registry is open)', async (ctx) => {
    if (!ok) return ctx.skip();
    const backend = await getBackend(name, variant);
    await growAndShrink(backend, label, TEST_KIND, testImage(1000), 1, 1);
    // Its own delta rule holds on every backend too.
    const h = await backend.loadStructure(TEST_KIND, testImage(1000), 1);
    try {
      await expect(backend.applyDelta(h, { kind: TEST_KIND, fromGeneration: 1, toGeneration: 2, length: 1001, writes: [] })).rejects.toThrow(/test-words-v1\).*refused: length 1001 not in its header/);
    } finally {
      await backend.releaseStructure(h);
    }
  });

  it('refuses an image or delta its kind rejects, naming backend and reason, and keeps the table held', async (ctx) => {
    if (!ok) return ctx.skip();
    const backend = await getBackend(name, variant);
    const bad = fibImage.slice();
    bad[H_MAGIC] = 0x12345678;
    await expect(backend.loadStructure(MULTI_FIB_V4, bad, 1)).rejects.toThrow(new RegExp(`^${name}: not a multi-fib-v4 image .*magic 0x12345678`));
    await expect(backend.loadStructure('no-such-kind', fibImage, 1)).rejects.toThrow(/unknown structure kind 'no-such-kind' \(registered: .*multi-fib-v4/);
    const h = await backend.loadStructure(MULTI_FIB_V4, fibImage.slice(), 1);
    try {
      const grows: ImageDelta = { kind: MULTI_FIB_V4, fromGeneration: 1, toGeneration: 2, length: fibImage.length + 8, writes: [{ offset: H_USED_WORDS, words: Uint32Array.of(fibImage.length + 9) }] };
      await expect(backend.applyDelta(h, grows)).rejects.toThrow(new RegExp(`writes ${fibImage.length + 9} used words to the header \\(word ${H_USED_WORDS}\\), its length is ${fibImage.length + 8}`));
      await expect(backend.applyDelta(h, { ...grows, kind: TEST_KIND })).rejects.toThrow(/delta for test-words-v1 applied to a multi-fib-v4 structure/);
      await expect(backend.applyDelta(h, { ...grows, writes: [{ offset: fibImage.length + 4, words: new Uint32Array(8) }] })).rejects.toThrow(/lies outside the image length/);
      await expect(backend.applyDelta(h, { ...grows, writes: [{ offset: H_MAGIC, words: Uint32Array.of(7) }] })).rejects.toThrow(/writes magic 7 \(word 0\)/);
      expect({ generation: h.generation, words: h.words }).toEqual({ generation: 1, words: fibImage.length });
      const back = await backend.readStructure(h);
      expect(Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(Buffer.from(fibImage.buffer))).toBe(true);
    } finally {
      await backend.releaseStructure(h);
    }
  });
});

describe('structure kind registry', () => {
  it('refuses a kind registered twice, and knows the multi-FIB', () => {
    expect(() => registerStructureKind({ ...structureKind(MULTI_FIB_V4) })).toThrow(/registered twice/);
    expect(structureKind(MULTI_FIB_V4).publishWords).toBe(HEADER_WORDS);
  });
});
