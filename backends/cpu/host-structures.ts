/**
 * Structure images held in host memory (the cpu and null backends, gpujs's host side). Every
 * image and delta is checked against its structure kind (core/structures/structure-kinds.ts)
 * before it is held or applied; `words` is the logical image length.
 */
import type { BackendName, StructureHandle } from '../../core/backend.js';
import { HostImage } from '../../core/structures/host-image.js';
import type { ImageDelta, StructureKind } from '../../core/structures/image.js';
import { checkDelta, checkImage } from '../../core/structures/structure-kinds.js';

export class HostStructures {
  private readonly images = new Map<number, HostImage>();
  private nextId = 1;

  constructor(private readonly backend: BackendName) {}

  load(kind: StructureKind, image: Uint32Array, generation: number): StructureHandle {
    checkImage(this.backend, kind, image);
    const held = new HostImage(image);
    const handle: StructureHandle = { backend: this.backend, kind, id: this.nextId++, generation, words: held.length };
    this.images.set(handle.id, held);
    return handle;
  }

  apply(handle: StructureHandle, delta: ImageDelta): void {
    const held = this.held(handle);
    checkDelta(handle, delta);
    held.apply(delta);
    handle.generation = delta.toGeneration;
    handle.words = held.length;
  }

  /** The image's words (its logical length), for kernel forms; valid until the next delta. */
  image(handle: StructureHandle): Uint32Array {
    return this.held(handle).words;
  }

  private held(handle: StructureHandle): HostImage {
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
