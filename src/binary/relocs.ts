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
  private constructor(private readonly addrs: Float64Array, private readonly addends: Float64Array) {}

  static readonly none = new Relocations(new Float64Array(0), new Float64Array(0));

  static read(source: ByteSource, sections: readonly ElfSection[]): Relocations {
    const addrs: number[] = [];
    const addends: number[] = [];
    forEachRelative(source, sections, (addr, addend) => {
      addrs.push(addr);
      addends.push(addend);
    });
    const order = Array.from(addrs.keys());
    // Stable: among duplicates the last in the file wins, as it would for the loader.
    order.sort((a, b) => addrs[a]! - addrs[b]!);
    return new Relocations(Float64Array.from(order, (i) => addrs[i]!), Float64Array.from(order, (i) => addends[i]!));
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
      for (let o = 0; o < d.length; o += ENTRY) {
        // r_info: type in the low 32 bits.
        if (d.readUInt32LE(o + 8) !== R_X86_64_RELATIVE) continue;
        const addr = d.readBigUInt64LE(o);
        if (addr > BigInt(Number.MAX_SAFE_INTEGER)) throw new BinaryFormatError(`64-bit value 0x${addr.toString(16)} out of range at ${o}`);
        const addend = d.readBigInt64LE(o + 16);
        if (addend >= 0n && addend <= BigInt(Number.MAX_SAFE_INTEGER)) f(Number(addr), Number(addend));
      }
    }
  }
}
