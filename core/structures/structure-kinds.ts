/**
 * The open registry of structure kinds. A kind (the multi-FIB now; flow tables and IPv6 FIBs
 * next) registers its layout checks once, beside its own code; backends hold any registered
 * kind and check every image they load and every delta they apply through this module, so a
 * new kind needs no edit here or in any backend.
 *
 * checkImage / checkDelta throw an Error naming the backend, the structure and what is wrong;
 * a refused image or delta is never applied, so the table held stays the old one.
 */
import type { ImageDelta, StructureKind } from './image.js';

export interface StructureKindSpec {
  readonly kind: StructureKind;
  /** One line for `hetbox backends` and errors. */
  readonly description: string;
  /**
   * Words at the start of the image that publish it (header, root pointer): a backend that loads
   * an image by writes puts the rest first and these last, so a reader never sees half a table.
   */
  readonly publishWords: number;
  /** Why `image` is not an image of this kind (header, magic, lengths), or null when it is. */
  checkImage(image: Uint32Array): string | null;
  /** Why `delta` cannot apply to an image of this kind now `length` words long, or null. */
  checkDelta(delta: ImageDelta, length: number): string | null;
}

const kinds = new Map<StructureKind, StructureKindSpec>();

/** Register a kind; registering a name twice throws (two layouts under one name would corrupt images). */
export function registerStructureKind(spec: StructureKindSpec): void {
  if (kinds.has(spec.kind)) throw new Error(`structure kind '${spec.kind}' is registered twice`);
  kinds.set(spec.kind, spec);
}

export function structureKind(kind: StructureKind): StructureKindSpec {
  const k = kinds.get(kind);
  if (k === undefined) throw new Error(`unknown structure kind '${kind}' (registered: ${[...kinds.keys()].join(', ') || 'none'})`);
  return k;
}

export function structureKinds(): StructureKindSpec[] {
  return [...kinds.values()];
}

/** What a backend knows of a structure it holds (a StructureHandle satisfies it). */
export interface HeldStructure {
  readonly backend: string;
  readonly kind: StructureKind;
  readonly id: number;
  readonly generation: number;
  /** Logical image length in words. */
  readonly words: number;
}

/** Refuse an image that is not of `kind`, before anything is allocated or written. */
export function checkImage(backend: string, kind: StructureKind, image: Uint32Array): void {
  const why = structureKind(kind).checkImage(image);
  if (why !== null) throw new Error(`${backend}: not a ${kind} image (${image.length} words): ${why}`);
}

/**
 * Refuse a delta made for another kind or generation, with writes outside its own length, or
 * that its kind rejects; names both generations and the structure.
 */
export function checkDelta(held: HeldStructure, delta: ImageDelta): void {
  const at = `${held.backend}: structure #${held.id} (${held.kind})`;
  if (delta.kind !== held.kind) throw new Error(`${at}: delta for ${delta.kind} applied to a ${held.kind} structure`);
  if (delta.fromGeneration !== held.generation) {
    throw new Error(`${at}: delta ${delta.fromGeneration}->${delta.toGeneration} does not apply at generation ${held.generation}`);
  }
  if (!Number.isInteger(delta.length) || delta.length < 0) throw new Error(`${at}: delta length ${delta.length} is not a word count`);
  for (const [i, w] of delta.writes.entries()) {
    if (!Number.isInteger(w.offset) || w.offset < 0 || w.offset + w.words.length > delta.length) {
      throw new Error(`${at}: delta write ${i} at word ${w.offset} (+${w.words.length}) lies outside the image length ${delta.length}`);
    }
  }
  const why = structureKind(held.kind).checkDelta(delta, held.words);
  if (why !== null) throw new Error(`${at}: delta ${delta.fromGeneration}->${delta.toGeneration} refused: ${why}`);
}
