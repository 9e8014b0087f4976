/**
 * The migration's incremental checksum: a shadow that follows deltas (writes, growth, shrinks)
 * holds the checksum of the image it mirrors, computed afresh; any one changed word changes it;
 * a delta that skips a generation is refused.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ImageShadow, imageChecksum, wordHash } from '../../core/migration/image-checksum.js';
import { applyDeltaToImage, type ImageDelta } from '../../core/structures/image.js';

const KIND = 'multi-fib-v4';

const deltaArb = (maxLen: number): fc.Arbitrary<{ length: number; writes: { offset: number; words: number[] }[] }> =>
  fc.integer({ min: 1, max: maxLen }).chain((length) =>
    fc.record({
      length: fc.constant(length),
      writes: fc.array(
        fc.integer({ min: 0, max: length - 1 }).chain((offset) => fc.record({ offset: fc.constant(offset), words: fc.array(fc.nat({ max: 0xffffffff }), { minLength: 0, maxLength: Math.min(8, length - offset) }) })),
        { maxLength: 6 },
      ),
    }),
  );

describe('ImageShadow', () => {
  it('follows deltas (writes, growth, shrinks) to the checksum of the image computed afresh (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: 0xffffffff }), { minLength: 1, maxLength: 64 }), fc.array(deltaArb(96), { maxLength: 12 }), async (start, deltas) => {
        let mirror = Uint32Array.from(start);
        const shadow = new ImageShadow(mirror.slice(), 0);
        let gen = 0;
        for (const d of deltas) {
          const delta: ImageDelta = { kind: KIND, fromGeneration: gen, toGeneration: gen + 1, length: d.length, writes: d.writes.map((w) => ({ offset: w.offset, words: Uint32Array.from(w.words) })) };
          gen++;
          shadow.apply(delta);
          mirror = applyDeltaToImage(mirror, delta).slice(0, d.length);
        }
        await shadow.ready;
        expect(shadow.generation).toBe(gen);
        expect(Array.from(shadow.image)).toEqual(Array.from(mirror));
        expect(shadow.checksum).toBe(imageChecksum(mirror));
      }),
      { numRuns: 200 },
    );
  });

  it('any one changed word changes the checksum; zero words count nothing', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1 << 20 }), fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), (p, a, b) => {
        fc.pre(a !== b);
        expect(wordHash(a, p)).not.toBe(wordHash(b, p));
      }),
    );
    expect(wordHash(0, 12345)).toBe(0);
    const img = new Uint32Array(1 << 16).map((_v, i) => (i * 2654435761) >>> 0);
    const sum = imageChecksum(img);
    img[40000] ^= 1 << 7;
    expect(imageChecksum(img)).not.toBe(sum);
  });

  it('refuses a delta that does not follow its generation (a lost delta fails the migration, not silently)', async () => {
    const s = new ImageShadow(new Uint32Array(4), 3);
    await s.ready;
    expect(() => s.apply({ kind: KIND, fromGeneration: 4, toGeneration: 5, length: 4, writes: [] })).toThrow(/checksum: delta 4->5 does not follow generation 3/);
  });
});
