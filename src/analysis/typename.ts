// Names of runtime type descriptors (runtime._type, internal/abi.Type 1.21+),
// as the runtime's own (*_type).string() prints them: the `str` nameOff
// resolved against the module's types section, the leading '*' dropped when
// tflagExtraStar is set. Names are encoded as a flags byte, a uvarint length
// and the bytes (runtime/type.go name, Go 1.17+). Type data of a module is
// read-only and lives in the executable, so it is read from the file.
import type { BinaryInfo } from '../binary/index.ts';
import { GtopError } from '../errors.ts';
import type { TargetMemory } from '../target/memory.ts';
import { MemoryReadError } from '../errors.ts';
import type { AnalysisLayout } from './layout.ts';

const TFLAG_EXTRA_STAR = 1 << 1;
const MAX_NAME = 4096;

export class TypeNames {
  private readonly cache = new Map<number, string | null>();
  private readonly types: { lo: number; hi: number } | undefined;

  constructor(private readonly bin: BinaryInfo, private readonly layout: AnalysisLayout, private readonly bias: number) {
    this.types = moduleTypes(bin, layout);
  }

  /** Name of the type descriptor at run-time address `addr`; null when it cannot be named. */
  name(addr: number, mem: TargetMemory): string | null {
    let n = this.cache.get(addr);
    if (n === undefined) {
      n = this.read(addr, mem);
      // Descriptors made at run time (reflect) live in the heap and may be reused.
      if (this.inModule(addr - this.bias)) this.cache.set(addr, n);
    }
    return n;
  }

  private inModule(linkAddr: number): boolean {
    return this.types !== undefined && linkAddr >= this.types.lo && linkAddr < this.types.hi;
  }

  private read(addr: number, mem: TargetMemory): string | null {
    const { tflag: tflagOff, str: strOff } = this.layout.type;
    const link = addr - this.bias;
    if (!this.types || addr === 0) return null;
    try {
      let tflag: number;
      let off: number;
      if (this.inModule(link)) {
        const b = this.bin.elf.readVaddr(link, strOff + 4);
        tflag = b[tflagOff]!;
        off = b.readInt32LE(strOff);
      } else {
        // A run-time type (reflect.ChanOf …): its name offset is only
        // meaningful through the runtime's reflectOffs map; not followed.
        const b = mem.tryRead(addr, strOff + 4);
        if (!b) return null;
        tflag = b[tflagOff]!;
        off = b.readInt32LE(strOff);
        if (off <= 0) return null;
      }
      const s = this.decodeName(this.types.lo + off);
      if (s === null) return null;
      return tflag & TFLAG_EXTRA_STAR && s.startsWith('*') ? s.slice(1) : s;
    } catch (err) {
      if (err instanceof GtopError || err instanceof MemoryReadError) return null;
      throw err;
    }
  }

  private decodeName(at: number): string | null {
    if (!this.types || at <= this.types.lo || at >= this.types.hi) return null;
    const head = this.bin.elf.readVaddr(at, Math.min(11, this.types.hi - at));
    let len = 0;
    let i = 1;
    for (let shift = 0; ; shift += 7, i++) {
      if (i >= head.length || shift > 28) return null;
      const b = head[i]!;
      len += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) break;
    }
    i++;
    if (len === 0 || len > MAX_NAME || at + i + len > this.types.hi) return null;
    return this.bin.elf.readVaddr(at + i, len).toString('utf8');
  }
}

/** moduledata.types/etypes (link-time) of the main module. */
function moduleTypes(bin: BinaryInfo, layout: AnalysisLayout): { lo: number; hi: number } | undefined {
  const md = bin.globals.firstmoduledata;
  if (md === undefined) return undefined;
  try {
    const lo = bin.elf.readPointer(md + layout.moduledata.types);
    const hi = bin.elf.readPointer(md + layout.moduledata.etypes);
    return lo > 0 && hi > lo && bin.elf.vaddrToOffset(lo) !== undefined ? { lo, hi } : undefined;
  } catch (err) {
    if (err instanceof GtopError) return undefined;
    throw err;
  }
}
