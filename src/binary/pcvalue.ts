// pc-value tables of pclntab (runtime/symtab.go `pcvalue` / `step`): a run of
// (zig-zag value delta, pc delta) uvarint pairs starting at value −1 and the
// function entry. Tables are decoded once and cached by their pctab offset
// (the linker shares identical tables between functions), then looked up by
// binary search.

interface Decoded {
  /** Exclusive end of each run, relative to the function entry. */
  ends: number[];
  vals: number[];
  /** Decoding stopped at the table's terminator (else at `covered`). */
  complete: boolean;
  covered: number;
}

const CACHE_LIMIT = 1 << 16;

export class PcTableCache {
  private readonly cache = new Map<number, Decoded | null>();

  constructor(
    private readonly data: Buffer,
    /** Offset of pctab within data. */
    private readonly pctab: number,
    private readonly minLC: number,
  ) {}

  /**
   * Value of table `off` at `pc` for a function [entry, end): −1 where the
   * runtime's pcvalue gives −1 (no table, pc past the table), undefined when
   * the table is corrupt.
   */
  value(off: number, entry: number, end: number, pc: number): number | undefined {
    if (off === 0) return -1;
    const size = end - entry;
    let t = this.cache.get(off);
    if (t === undefined || (t !== null && !t.complete && t.covered < size)) {
      t = this.decode(off, size);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(off, t);
    }
    if (t === null) return undefined;
    const rel = pc - entry;
    const ends = t.ends;
    let lo = 0;
    let hi = ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (rel < ends[mid]!) hi = mid;
      else lo = mid + 1;
    }
    return lo < ends.length ? t.vals[lo]! : -1;
  }

  /** Decodes until the terminator or until the runs cover `size` bytes; null if corrupt. */
  private decode(off: number, size: number): Decoded | null {
    const d = this.data;
    let p = this.pctab + off;
    let val = -1;
    let pc = 0;
    const ends: number[] = [];
    const vals: number[] = [];
    // Every real step advances pc; a zero pc delta is only legal at the start.
    const maxSteps = size / this.minLC + 16;
    for (let steps = 0; steps <= maxSteps; steps++) {
      if (p >= d.length) return null;
      let uv = d[p]!;
      if (uv === 0 && pc !== 0) return { ends, vals, complete: true, covered: pc };
      let n = 1;
      if (uv & 0x80) {
        const r = readUvarint(d, p);
        if (!r) return null;
        [uv, n] = r;
      }
      p += n;
      val = (val + ((uv & 1 ? ~(uv >>> 1) : uv >>> 1) | 0)) | 0;
      if (p >= d.length) return null;
      let pcd = d[p]!;
      n = 1;
      if (pcd & 0x80) {
        const r = readUvarint(d, p);
        if (!r) return null;
        [pcd, n] = r;
      }
      p += n;
      pc += pcd * this.minLC;
      ends.push(pc);
      vals.push(val);
      if (pc >= size) return { ends, vals, complete: false, covered: pc };
    }
    return null;
  }
}

/** A uint32 LEB128 value and its length, or undefined when truncated/too long. */
function readUvarint(d: Buffer, p: number): [number, number] | undefined {
  let v = 0;
  for (let i = 0, shift = 0; i < 5; i++, shift += 7) {
    if (p + i >= d.length) return undefined;
    const b = d[p + i]!;
    v += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return [v >>> 0, i + 1];
  }
  return undefined;
}
