/**
 * Structure images held in host memory (the cpu and null backends), and the generation check
 * every backend applies before a delta: a delta made for another generation or another kind
 * of structure is refused with both numbers, never applied to the wrong table.
 */
import type { BackendName, StructureHandle } from '../../core/backend.js';
import { applyDeltaToImage, type ImageDelta, type StructureKind } from '../../core/structures/image.js';

export function checkDelta(handle: StructureHandle, delta: ImageDelta): void {
  if (delta.kind !== handle.kind) throw new Error(`${handle.backend}: delta for ${delta.kind} applied to a ${handle.kind} structure (#${handle.id})`);
  if (delta.fromGeneration !== handle.generation) {
    throw new Error(`${handle.backend}: delta ${delta.fromGeneration}->${delta.toGeneration} does not apply to structure #${handle.id} at generation ${handle.generation}`);
  }
  for (const w of delta.writes) {
    if (w.offset < 0 || w.offset + w.words.length > delta.length) {
      throw new Error(`${handle.backend}: delta write at word ${w.offset} (+${w.words.length}) lies outside the image length ${delta.length}`);
    }
  }
}

export class HostStructures {
  private readonly images = new Map<number, Uint32Array>();
  private nextId = 1;

  constructor(private readonly backend: BackendName) {}

  load(kind: StructureKind, image: Uint32Array, generation: number): StructureHandle {
    // A copy: the caller keeps mutating its own image as it builds the next generation.
    const copy = new Uint32Array(image);
    const handle: StructureHandle = { backend: this.backend, kind, id: this.nextId++, generation, words: copy.length };
    this.images.set(handle.id, copy);
    return handle;
  }

  apply(handle: StructureHandle, delta: ImageDelta): void {
    checkDelta(handle, delta);
    const img = applyDeltaToImage(this.image(handle), delta);
    this.images.set(handle.id, img);
    handle.generation = delta.toGeneration;
    handle.words = img.length;
  }

  image(handle: StructureHandle): Uint32Array {
    const img = handle.backend === this.backend ? this.images.get(handle.id) : undefined;
    if (img === undefined) throw new Error(`${this.backend}: structure #${handle.id} (${handle.backend}) is not held here (released, or loaded on another backend)`);
    return img;
  }

  release(handle: StructureHandle): void {
    this.images.delete(handle.id);
  }

  clear(): void {
    this.images.clear();
  }

  bytes(): number {
    let n = 0;
    for (const img of this.images.values()) n += img.byteLength;
    return n;
  }
}
