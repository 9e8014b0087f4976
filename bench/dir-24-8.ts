/**
 * DIR-24-8 (Gupta, Lin, McKeown 1998; DPDK rte_lpm's layout) in plain TypeScript: the
 * baseline the multi-FIB lookup is measured against. tbl24 has one int32 per /24 (64 MiB):
 * a next hop (-1: none), or EXT | g (below -1) naming tbl8 group g, 256 entries, for routes longer than /24.
 * Built by painting routes in ascending length order; single FIB, no updates.
 */
const NONE = -1;
const EXT = 0x80000000 | 0;

export class Dir24_8 {
  readonly tbl24 = new Int32Array(1 << 24).fill(NONE);
  tbl8 = new Int32Array(256 * 256);
  groups = 0;

  /** Routes as columns (prefix u32 bit patterns, lengths, next hops), any order. */
  constructor(prefix: Int32Array, len: Uint8Array, nh: Int32Array, count: number) {
    const byLen: number[][] = Array.from({ length: 33 }, () => []);
    for (let i = 0; i < count; i++) byLen[len[i]].push(i);
    for (let l = 0; l <= 32; l++) {
      for (const i of byLen[l]) {
        const p = prefix[i] >>> 0;
        if (l <= 24) {
          const start = p >>> 8;
          const end = start + 2 ** (24 - l);
          for (let s = start; s < end; s++) {
            const e = this.tbl24[s];
            if (e < NONE) this.tbl8.fill(nh[i], (e & 0xffffff) * 256, (e & 0xffffff) * 256 + 256);
            else this.tbl24[s] = nh[i];
          }
        } else {
          const s = p >>> 8;
          let e = this.tbl24[s];
          if (e >= NONE) {
            const g = this.group();
            this.tbl8.fill(e, g * 256, g * 256 + 256);
            this.tbl24[s] = e = EXT | g;
          }
          const base = (e & 0xffffff) * 256 + (p & 255);
          this.tbl8.fill(nh[i], base, base + 2 ** (32 - l));
        }
      }
    }
  }

  private group(): number {
    if ((this.groups + 1) * 256 > this.tbl8.length) {
      const t = new Int32Array(this.tbl8.length * 2);
      t.set(this.tbl8);
      this.tbl8 = t;
    }
    return this.groups++;
  }

  get bytes(): number {
    return this.tbl24.byteLength + this.groups * 256 * 4;
  }
}

/** Batch lookup: next hop or -1. */
export function dir24Lookup(tbl24: Int32Array, tbl8: Int32Array, dst: Int32Array, out: Int32Array, count: number): void {
  for (let i = 0; i < count; i++) {
    const a = dst[i];
    const e = tbl24[a >>> 8];
    out[i] = e >= NONE ? e : tbl8[((e & 0xffffff) << 8) | (a & 255)];
  }
}
