// R_X86_64_RELATIVE relocations of a PIE: where the file holds 0 and the
// loader writes base + addend. A big PIE has ~1M of them (a 84 MB test binary:
// 929,509, 22 MB of .rela) and Go's linker does not sort them, so setup holds
// them sorted in typed arrays (16 bytes each; a Map took several times that),
// and after setup only the few ranges later readers ask for (moduledata) are
// kept; any other address is answered by one pass over the table in the file.
import { BinaryFormatError } from '../errors.ts';
import type { ElfSection } from './elf.ts';
import type { ByteSource } from './source.ts';

const SHT_RELA = 4;
const R_X86_64_RELATIVE = 8;
const ENTRY = 24;
// Entries per read in the single-address scan: 1.5 MB.
const SCAN_CHUNK = 65536;

export interface AddrRange { addr: number; len: number }

export class Relocations {
  /** `addrs` ascending, `addends` in the same order. */
  constructor(private readonly addrs: Float64Array, private readonly addends: Float64Array) {}

  static readonly none = new Relocations(new Float64Array(0), new Float64Array(0));

  static read(source: ByteSource, sections: readonly ElfSection[]): Relocations {
    let max = 0;
    for (const sec of sections) if (sec.type === SHT_RELA) max += Math.floor(sec.size / ENTRY);
    let addrs = new Float64Array(max);
    let addends = new Float64Array(max);
    let n = 0;
    forEachRelative(source, sections, (addr, addend) => {
      addrs[n] = addr;
      addends[n++] = addend;
    });
    addrs = addrs.slice(0, n);
    addends = addends.slice(0, n);
    return sorted(addrs, addends);
  }

  get size(): number {
    return this.addrs.length;
  }

  /** The addend for a slot at `addr`, if relocated. */
  get(addr: number): number | undefined {
    const a = this.addrs;
    // The last index with a[i] <= addr.
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]! <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && a[lo - 1] === addr ? this.addends[lo - 1] : undefined;
  }

  /** Only the relocations inside `ranges`. */
  within(ranges: readonly AddrRange[]): Relocations {
    const keep: number[] = [];
    for (let i = 0; i < this.addrs.length; i++) {
      const a = this.addrs[i]!;
      if (ranges.some((r) => a >= r.addr && a < r.addr + r.len)) keep.push(i);
    }
    return new Relocations(Float64Array.from(keep, (i) => this.addrs[i]!), Float64Array.from(keep, (i) => this.addends[i]!));
  }
}

/**
 * The pairs ordered by address; among equal addresses the last in the file
 * wins, as for the loader. A numeric sort of (address, index) packed into one
 * double where they fit (link-time addresses < 2^32 · 2^20 entries): 10x
 * faster than a comparator on ~1M entries.
 */
function sorted(addrs: Float64Array, addends: Float64Array): Relocations {
  const n = addrs.length;
  let inOrder = true;
  let top = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0 && addrs[i]! < addrs[i - 1]!) inOrder = false;
    if (addrs[i]! > top) top = addrs[i]!;
  }
  if (inOrder) return new Relocations(addrs, addends);
  const bits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  let order: ArrayLike<number>;
  if ((top + 1) * 2 ** bits <= Number.MAX_SAFE_INTEGER) {
    const scale = 2 ** bits;
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = addrs[i]! * scale + i;
    keys.sort();
    order = keys.map((k) => k % scale);
  } else {
    // Array.prototype.sort is stable: equal addresses keep file order.
    order = Array.from({ length: n }, (_, i) => i).sort((a, b) => addrs[a]! - addrs[b]!);
  }
  const sa = new Float64Array(n);
  const sb = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const j = order[i]!;
    sa[i] = addrs[j]!;
    sb[i] = addends[j]!;
  }
  return new Relocations(sa, sb);
}

/** One address's addend by a pass over the tables in the file, without holding them. */
export function scanRelocation(source: ByteSource, sections: readonly ElfSection[], addr: number): number | undefined {
  let found: number | undefined;
  forEachRelative(source, sections, (a, addend) => {
    if (a === addr) found = addend;
  });
  return found;
}

function forEachRelative(source: ByteSource, sections: readonly ElfSection[], f: (addr: number, addend: number) => void): void {
  for (const sec of sections) {
    if (sec.type !== SHT_RELA) continue;
    if (sec.offset + sec.size > source.size) throw new BinaryFormatError(`section ${sec.name} extends past end of file`);
    const count = Math.floor(sec.size / ENTRY);
    for (let first = 0; first < count; first += SCAN_CHUNK) {
      const n = Math.min(SCAN_CHUNK, count - first);
      const d = source.read(sec.offset + first * ENTRY, n * ENTRY);
      // As 32-bit words (entries are 6 words): BigInt reads made this loop 5x slower on ~1M entries.
      const w = words(d);
      for (let k = 0; k + 6 <= w.length; k += 6) {
        // r_info: type in the low 32 bits.
        if (w[k + 2] !== R_X86_64_RELATIVE) continue;
        const addrHi = w[k + 1]!;
        if (addrHi >= 0x200000) throw new BinaryFormatError(`64-bit value out of range in ${sec.name} at ${(first + k / 6) * ENTRY}`);
        const addendHi = w[k + 5]!;
        // Negative (high bit set) or beyond 2^53: not an address.
        if (addendHi < 0x200000) f(addrHi * 2 ** 32 + w[k]!, addendHi * 2 ** 32 + w[k + 4]!);
      }
    }
  }
}

/** Little-endian u32 view of `d` (copied when unaligned; amd64 is little-endian like the file). */
function words(d: Buffer): Uint32Array {
  const aligned = d.byteOffset % 4 === 0 ? d : Buffer.from(d);
  return new Uint32Array(aligned.buffer, aligned.byteOffset, Math.floor(aligned.length / 4));
}
