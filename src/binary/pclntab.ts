// Reader of the Go function table (`.gopclntab`, go-runtime.md §8) for the
// 1.16/1.17 (0xfffffffa), 1.18/1.19 (0xfffffff0) and 1.20–1.26 (0xfffffff1)
// formats: function lookup by pc and by name, pcsp/pcfile/pcln values, and
// inline-tree expansion as runtime.CallersFrames / the traceback do it.
// Layouts follow runtime/symtab.go, runtime2.go `_func` and symtabinl.go at
// each tag; every read is bounds-checked (BinaryFormatError on corruption).
import { BinaryFormatError } from '../errors.ts';
import { type ElfFile, u32 } from './elf.ts';
import { findModuledata } from './moduledata.ts';
import { findPclntab, type PclnLayout } from './pclntab-header.ts';
import { PcTableCache } from './pcvalue.ts';

export interface GoFunc {
  readonly entry: number;
  readonly end: number;
  readonly name: string;
  readonly funcID: number;
  readonly flag: number;
}

export interface SourceFrame {
  function: string;
  file: string;
  line: number;
  inlined: boolean;
  funcID: number;
}

const PCDATA_INL_TREE_INDEX = 2;
const FUNCDATA_INL_TREE = 3;
// Inline nesting deeper than this is treated as a corrupt (cyclic) tree.
const MAX_INLINE_DEPTH = 1000;
const FRAME_CACHE_LIMIT = 1 << 16;

/** A decoded `_func`; the extra fields stay private to this module. */
class Func implements GoFunc {
  constructor(
    readonly owner: Pclntab,
    readonly index: number,
    readonly entry: number,
    readonly end: number,
    readonly name: string,
    readonly funcID: number,
    readonly flag: number,
    readonly pcsp: number,
    readonly pcfile: number,
    readonly pcln: number,
    readonly npcdata: number,
    readonly nfuncdata: number,
    readonly cuOffset: number,
    /** Offset in the table data of pcdata[0] (just after `_func`). */
    readonly pcdataAt: number,
  ) {}
}

interface InlinedCall { funcID: number; nameOff: number; parentPc: number }

export class Pclntab {
  readonly format: '1.16' | '1.18' | '1.20';
  readonly textStart: number;
  readonly count: number;
  private readonly elf: ElfFile;
  private readonly l: PclnLayout;
  private readonly entries: Float64Array;
  private readonly funcOffs: Float64Array;
  private readonly funcs: (Func | undefined)[];
  private readonly names = new Map<number, string>();
  private readonly files = new Map<number, string>();
  private byName: Int32Array | undefined;
  private readonly tables: PcTableCache;
  private readonly frameCache = new Map<number, SourceFrame[]>();
  /** moduledata.gofunc: base of funcdata offsets (1.18+). */
  private readonly gofunc: number | undefined;

  private constructor(elf: ElfFile, l: PclnLayout, textStart: number, gofunc: number | undefined) {
    this.elf = elf;
    this.l = l;
    this.format = l.format;
    this.gofunc = gofunc;
    this.count = l.nfunc;
    this.funcs = new Array<Func | undefined>(l.nfunc);
    this.tables = new PcTableCache(l.data, l.pctab, l.minLC);
    [this.entries, this.funcOffs] = readFunctab(l, textStart);
    // 1.16 entries are absolute and runtime.text is the first function (with
    // external linking the .text section starts earlier, with C code).
    this.textStart = textStart || this.entries[0]!;
  }

  static fromElf(elf: ElfFile): Pclntab {
    const l = findPclntab(elf);
    let textStart = l.textStart;
    let gofunc: number | undefined;
    if (l.format !== '1.16') {
      const md = moduledataOrSymbols(elf, l);
      gofunc = md.gofunc;
      // 1.26 stores 0 in pcHeader.textStart; moduledata.text is what the runtime uses.
      if (textStart === 0) textStart = md.text;
    }
    return new Pclntab(elf, l, textStart, gofunc);
  }

  /** The function containing a link-time pc (runtime findfunc), by binary search over functab. */
  funcForPC(pc: number): GoFunc | undefined {
    const e = this.entries;
    const n = this.count;
    if (n === 0 || !(pc >= e[0]!) || pc >= e[n]!) return undefined;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (e[mid]! <= pc) lo = mid;
      else hi = mid - 1;
    }
    return this.func(lo);
  }

  /** By raw pclntab name; works without .symtab (the index is built on first use). */
  funcByName(name: string): GoFunc | undefined {
    this.byName ??= this.nameIndex();
    const want = Buffer.from(name, 'utf8');
    const t = this.byName;
    const mask = t.length - 1;
    for (let h = fnv(want, 0, want.length) & mask; t[h] !== -1; h = (h + 1) & mask) {
      const i = t[h]!;
      const at = this.nameAt(i);
      if (this.l.data.indexOf(0, at) === at + want.length && this.l.data.compare(want, 0, want.length, at, at + want.length) === 0) return this.func(i);
    }
    return undefined;
  }

  /**
   * Function indices hashed by their name's bytes in the table (open
   * addressing): the first function of a name wins. No Func objects or name
   * strings for all functions: for 60k functions that was ~20 MB of heap
   * kept for the session, against 0.5 MB here.
   */
  private nameIndex(): Int32Array {
    let size = 2;
    while (size < this.count * 2) size *= 2;
    const t = new Int32Array(size).fill(-1);
    const mask = size - 1;
    const data = this.l.data;
    for (let i = 0; i < this.count; i++) {
      const at = this.nameAt(i);
      const end = data.indexOf(0, at);
      if (end < 0 || end >= this.l.cu) throw new BinaryFormatError(`pclntab: unterminated string at ${at}`);
      let h = fnv(data, at, end) & mask;
      for (; t[h] !== -1; h = (h + 1) & mask) {
        const j = this.nameAt(t[h]!);
        if (data.indexOf(0, j) - j === end - at && data.compare(data, at, end, j, j + end - at) === 0) break;
      }
      if (t[h] === -1) t[h] = i;
    }
    return t;
  }

  /** Offset in the table data of function i's name, validated as func(i) does. */
  private nameAt(i: number): number {
    const hit = this.funcs[i];
    const { data, pcln } = this.l;
    const o = pcln + this.funcOffs[i]!;
    const wide = this.format === '1.16';
    if (!hit) {
      const stored = wide ? readU64(data, o) : this.textStart + u32(data, o);
      if (stored !== this.entries[i]) throw new BinaryFormatError(`pclntab: _func ${i} entry 0x${stored.toString(16)} ≠ functab 0x${this.entries[i]!.toString(16)}`);
    }
    const nameOff = data.readInt32LE(checked(data, o + (wide ? 4 : 0) + 4, 4));
    const at = this.l.funcname + nameOff;
    if (nameOff < 0 || at >= this.l.cu) throw new BinaryFormatError(`pclntab: function name offset ${nameOff} out of range`);
    return at;
  }

  *functions(): Iterable<GoFunc> {
    for (let i = 0; i < this.count; i++) {
      const fn = this.func(i);
      if (fn) yield fn;
    }
  }

  /** pcsp at pc: bytes between SP and the return address slot; undefined outside fn or without a value. */
  spDelta(fn: GoFunc, pc: number): number | undefined {
    const f = this.own(fn, pc);
    if (!f) return undefined;
    const v = this.tables.value(f.pcsp, f.entry, f.end, pc);
    return v === undefined || v < 0 ? undefined : v;
  }

  /** Position of the physical function's code at pc (innermost inlined position, no expansion). */
  fileLine(fn: GoFunc, pc: number): { file: string; line: number } | undefined {
    const f = this.own(fn, pc);
    return f ? this.fileLineOf(f, pc) : undefined;
  }

  /**
   * Logical frames at pc, innermost first, inlined ones expanded exactly as
   * the runtime's traceback does; the last element is the physical function.
   * No frames are hidden (wrappers etc. carry their funcID for the caller to
   * decide); names are raw (see funcNameForPrint). Unknown positions are
   * "?":0 like the runtime's. Results are cached per pc: do not mutate them.
   */
  frames(fn: GoFunc, pc: number): SourceFrame[] {
    const f = this.own(fn, pc);
    if (!f) return [];
    const cached = this.frameCache.get(pc);
    if (cached && cached[cached.length - 1]!.function === f.name) return cached;
    const out = this.expand(f, pc);
    if (this.frameCache.size >= FRAME_CACHE_LIMIT) this.frameCache.clear();
    this.frameCache.set(pc, out);
    return out;
  }

  /** Mirrors inlineUnwinder (symtabinl.go): each inlined call's position is the parentPc of the one inside it. */
  private expand(f: Func, pc: number): SourceFrame[] {
    const out: SourceFrame[] = [];
    const tree = this.inlineTree(f);
    let cur = pc;
    if (tree !== undefined) {
      let idx = this.pcdata(f, PCDATA_INL_TREE_INDEX, cur);
      while (idx >= 0 && out.length < MAX_INLINE_DEPTH) {
        const call = this.inlinedCall(tree, idx);
        if (!call) break;
        const fl = this.fileLineOf(f, cur);
        out.push({ function: this.name(call.nameOff), file: fl?.file ?? '?', line: fl?.line ?? 0, inlined: true, funcID: call.funcID });
        cur = f.entry + call.parentPc;
        idx = this.pcdata(f, PCDATA_INL_TREE_INDEX, cur);
      }
    }
    const fl = this.fileLineOf(f, cur);
    out.push({ function: f.name, file: fl?.file ?? '?', line: fl?.line ?? 0, inlined: false, funcID: f.funcID });
    return out;
  }

  /** The Func object for fn, provided pc lies inside it. */
  private own(fn: GoFunc, pc: number): Func | undefined {
    const f = fn instanceof Func && fn.owner === this ? fn : this.funcForPC(fn.entry);
    if (!f || f.entry !== fn.entry || !(pc >= f.entry && pc < f.end)) return undefined;
    return f as Func;
  }

  private fileLineOf(f: Func, pc: number): { file: string; line: number } | undefined {
    const fileno = this.tables.value(f.pcfile, f.entry, f.end, pc);
    const line = this.tables.value(f.pcln, f.entry, f.end, pc);
    if (fileno === undefined || line === undefined || fileno < 0 || line < 0) return undefined;
    const file = this.file(f.cuOffset + fileno);
    return file === undefined ? undefined : { file, line };
  }

  private pcdata(f: Func, table: number, pc: number): number {
    if (table >= f.npcdata) return -1;
    const off = u32(this.l.data, f.pcdataAt + table * 4);
    return this.tables.value(off, f.entry, f.end, pc) ?? -1;
  }

  /** Link-time address of the function's inline tree, if it has one. */
  private inlineTree(f: Func): number | undefined {
    if (FUNCDATA_INL_TREE >= f.nfuncdata) return undefined;
    const { data, addr } = this.l;
    let p = f.pcdataAt + f.npcdata * 4;
    if (this.format === '1.16') {
      // Pointer-sized funcdata, 8-aligned in memory (symtab.go@1.17 funcdata).
      if ((addr + p) % 8 !== 0) p += 4;
      const ptr = this.elf.readPointer(addr + p + FUNCDATA_INL_TREE * 8);
      return ptr === 0 ? undefined : ptr;
    }
    const off = u32(data, p + FUNCDATA_INL_TREE * 4);
    if (off === 0xffffffff || this.gofunc === undefined) return undefined;
    return this.gofunc + off;
  }

  private inlinedCall(tree: number, idx: number): InlinedCall | undefined {
    // 1.20+: {funcID u8, _ [3]u8, nameOff i32, parentPc i32, startLine i32};
    // ≤1.19: {parent i16, funcID u8, _ u8, file i32, line i32, func_ i32, parentPc i32}.
    const size = this.format === '1.20' ? 16 : 20;
    let b: Buffer;
    try {
      b = this.elf.readVaddr(tree + idx * size, size);
    } catch {
      return undefined;
    }
    if (this.format === '1.20') return { funcID: b[0]!, nameOff: b.readInt32LE(4), parentPc: b.readInt32LE(8) };
    return { funcID: b[2]!, nameOff: b.readInt32LE(12), parentPc: b.readInt32LE(16) };
  }

  private func(i: number): Func | undefined {
    const hit = this.funcs[i];
    if (hit) return hit;
    const { data, pcln } = this.l;
    const o = pcln + this.funcOffs[i]!;
    const wide = this.format === '1.16';
    // Field offsets after the entry word: 1.16 has an 8-byte entry, 1.18+ a u32
    // entryoff; 1.20 inserted startLine before funcID.
    const b = wide ? 4 : 0;
    const idAt = this.format === '1.18' ? 36 : 40;
    const entry = this.entries[i]!;
    const stored = wide ? readU64(data, o) : this.textStart + u32(data, o);
    if (stored !== entry) throw new BinaryFormatError(`pclntab: _func ${i} entry 0x${stored.toString(16)} ≠ functab 0x${entry.toString(16)}`);
    const nameOff = data.readInt32LE(checked(data, o + b + 4, 4));
    const f = new Func(
      this, i, entry, this.entries[i + 1]!, this.name(nameOff),
      data[checked(data, o + idAt, 4)]!, data[o + idAt + 1]!,
      u32(data, o + b + 16), u32(data, o + b + 20), u32(data, o + b + 24),
      u32(data, o + b + 28), data[o + idAt + 3]!, u32(data, o + b + 32), o + idAt + 4,
    );
    this.funcs[i] = f;
    return f;
  }

  private name(nameOff: number): string {
    let s = this.names.get(nameOff);
    if (s === undefined) {
      const at = this.l.funcname + nameOff;
      if (nameOff < 0 || at >= this.l.cu) throw new BinaryFormatError(`pclntab: function name offset ${nameOff} out of range`);
      s = cstringUtf8(this.l.data, at, this.l.cu);
      this.names.set(nameOff, s);
    }
    return s;
  }

  /** funcfile: filetab + cutab[cuIndex], "?" for the ^0 marker, undefined when out of range. */
  private file(cuIndex: number): string | undefined {
    const at = this.l.cu + cuIndex * 4;
    if (at + 4 > this.l.filetab) return undefined;
    const off = u32(this.l.data, at);
    if (off === 0xffffffff) return '?';
    let s = this.files.get(off);
    if (s === undefined) {
      if (this.l.filetab + off >= this.l.pctab) return undefined;
      s = cstringUtf8(this.l.data, this.l.filetab + off, this.l.pctab);
      this.files.set(off, s);
    }
    return s;
  }
}

/** gofunc and text from moduledata, else from the symbols the linker defines for them. */
function moduledataOrSymbols(elf: ElfFile, l: PclnLayout): { gofunc: number; text: number } {
  try {
    return findModuledata(elf, l.addr, l, l.format === '1.20');
  } catch (err) {
    const syms = elf.symbols();
    const gofunc = (syms.get('go:func.*') ?? syms.get('go.func.*'))?.value;
    const text = syms.get('runtime.text')?.value;
    if (gofunc === undefined || text === undefined) throw err;
    return { gofunc, text };
  }
}

/** functab: nfunc (entry, funcoff) pairs plus the end-of-text entry, sorted. */
function readFunctab(l: PclnLayout, textStart: number): [Float64Array, Float64Array] {
  const { data, pcln, nfunc } = l;
  const wide = l.format === '1.16';
  const size = wide ? 16 : 8;
  if (pcln + nfunc * size + (wide ? 8 : 4) > data.length) throw new BinaryFormatError('pclntab functab truncated');
  const entries = new Float64Array(nfunc + 1);
  const offs = new Float64Array(nfunc);
  const base = wide ? 0 : textStart;
  let prev = 0;
  for (let i = 0; i <= nfunc; i++) {
    const o = pcln + i * size;
    const e = base + (wide ? readU64(data, o) : u32(data, o));
    if (e < prev) throw new BinaryFormatError(`pclntab functab not sorted at entry ${i}`);
    entries[i] = prev = e;
    if (i < nfunc) offs[i] = wide ? readU64(data, o + 8) : u32(data, o + 4);
  }
  return [entries, offs];
}

/**
 * The name as the runtime prints it (runtime.funcNameForPrint, used by
 * tracebacks and, since 1.21, CallersFrames): generic shape arguments
 * become "[...]". GoFunc.name and SourceFrame.function keep the raw name.
 */
export function funcNameForPrint(name: string): string {
  const i = name.indexOf('[');
  if (i < 0) return name;
  const j = name.lastIndexOf(']');
  if (j <= i) return name;
  return `${name.slice(0, i)}[...]${name.slice(j + 1)}`;
}

/** NUL-terminated UTF-8 string (names contain '·') that must end before `limit`. */
function cstringUtf8(data: Buffer, off: number, limit: number): string {
  const end = data.indexOf(0, off);
  if (end < 0 || end >= limit) throw new BinaryFormatError(`pclntab: unterminated string at ${off}`);
  return data.toString('utf8', off, end);
}

/** FNV-1a over data[start, end). */
function fnv(data: Buffer, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let k = start; k < end; k++) h = Math.imul(h ^ data[k]!, 0x01000193);
  return h >>> 0;
}

function checked(data: Buffer, off: number, len: number): number {
  if (off < 0 || off + len > data.length) throw new BinaryFormatError(`pclntab: read past end at ${off}`);
  return off;
}

function readU64(data: Buffer, off: number): number {
  checked(data, off, 8);
  const v = data.readBigUInt64LE(off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new BinaryFormatError(`pclntab: value out of range at ${off}`);
  return Number(v);
}
