/**
 * Interns byte strings (a route line's next-hop field) to small integers without making a
 * JS string per lookup: a full table repeats a few hundred next hops over 900k lines, so the
 * loaders decode and parse a next hop's text once, on its first sighting, and afterwards find
 * its index by hashing the bytes where they lie in the file.
 */
export class ByteInterner {
  /** Copies of the interned byte strings, back to back. */
  private arena = new Uint8Array(1024);
  private arenaUsed = 0;
  /** Per entry: start in the arena, length, value. */
  private starts: Int32Array = new Int32Array(64);
  private lengths: Int32Array = new Int32Array(64);
  private values: Int32Array = new Int32Array(64);
  private entries = 0;
  /** Open addressing: entry index + 1 per slot, 0 for empty. */
  private table = new Int32Array(128);

  /** The value interned for `bytes[start..end)`, or -1. */
  get(bytes: Uint8Array, start: number, end: number): number {
    const mask = this.table.length - 1;
    let h = hashBytes(bytes, start, end) & mask;
    for (;;) {
      const e = this.table[h] - 1;
      if (e < 0) return -1;
      if (this.equals(e, bytes, start, end)) return this.values[e];
      h = (h + 1) & mask;
    }
  }

  /** Intern `bytes[start..end)` with `value` (the caller checked with `get` that it is new). */
  set(bytes: Uint8Array, start: number, end: number, value: number): void {
    const n = end - start;
    if (this.arenaUsed + n > this.arena.length) {
      const a = new Uint8Array(Math.max(this.arena.length * 2, this.arenaUsed + n));
      a.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = a;
    }
    this.arena.set(bytes.subarray(start, end), this.arenaUsed);
    if (this.entries === this.starts.length) {
      this.starts = grown(this.starts);
      this.lengths = grown(this.lengths);
      this.values = grown(this.values);
    }
    const e = this.entries++;
    this.starts[e] = this.arenaUsed;
    this.lengths[e] = n;
    this.values[e] = value;
    this.arenaUsed += n;
    if (this.entries * 2 > this.table.length) this.rehash();
    else this.place(e, hashBytes(bytes, start, end));
  }

  private equals(e: number, bytes: Uint8Array, start: number, end: number): boolean {
    const n = end - start;
    if (this.lengths[e] !== n) return false;
    const a = this.arena;
    const s = this.starts[e];
    for (let i = 0; i < n; i++) if (a[s + i] !== bytes[start + i]) return false;
    return true;
  }

  private place(e: number, hash: number): void {
    const mask = this.table.length - 1;
    let h = hash & mask;
    while (this.table[h] !== 0) h = (h + 1) & mask;
    this.table[h] = e + 1;
  }

  private rehash(): void {
    this.table = new Int32Array(this.table.length * 2);
    for (let e = 0; e < this.entries; e++) this.place(e, hashBytes(this.arena, this.starts[e], this.starts[e] + this.lengths[e]));
  }
}

function hashBytes(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return (h ^ (h >>> 15)) >>> 0;
}

function grown(a: Int32Array): Int32Array {
  const g = new Int32Array(a.length * 2);
  g.set(a);
  return g;
}
