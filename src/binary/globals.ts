// Link-time addresses of the runtime variables gtop reads: by `.symtab` when
// present, else by disassembling the runtime functions that use them (the
// code of a `-s -w` build is the same, only the symbol table is gone). Every
// address found by disassembly is validated against the data it points at.
import { BinaryFormatError, GtopError } from '../errors.ts';
import { decodeFunction, type Instr } from './disasm.ts';
import { type ElfFile, type ElfSymbol, PF_W, PT_LOAD, u64 } from './elf.ts';

export interface RuntimeGlobals {
  allglen: number;
  allgptr: number;
  waitReasonStrings: number | undefined;
  waitReasonCount: number | undefined;
  gStatusStrings: number | undefined;
  buildVersion: number | undefined;
  firstmoduledata: number | undefined;
  source: 'symtab' | 'disasm';
}

export interface FuncLookup {
  funcByName(name: string): { entry: number; end: number } | undefined;
}

const STRING_SIZE = 16; // {ptr, len} on 64-bit
const MAX_STRING = 4096;
const MAX_ARRAY = 4096;
// waitReason is a uint8, so its table can never be longer than this.
const MAX_WAIT_REASONS = 256;

/** `ignoreSymtab` forces the disassembly path (tests, diagnostics). */
export function findRuntimeGlobals(elf: ElfFile, lookup: FuncLookup, opts: { ignoreSymtab?: boolean } = {}): RuntimeGlobals {
  const syms = opts.ignoreSymtab ? new Map<string, ElfSymbol>() : elf.symbols();
  const sym = (name: string) => syms.get(name);
  const code = new CodeCache(elf, lookup);

  const buildVersion = sym('runtime.buildVersion')?.value ?? optional(() => findBuildVersion(elf, code));
  let allg: { allglen: number; allgptr: number };
  let source: RuntimeGlobals['source'];
  const len = sym('runtime.allglen');
  const ptr = sym('runtime.allgptr');
  if (len && ptr) {
    allg = { allglen: len.value, allgptr: ptr.value };
    source = 'symtab';
  } else {
    allg = findAllg(elf, code, buildVersion);
    source = 'disasm';
  }

  const wrSym = sym('runtime.waitReasonStrings');
  const wr = wrSym && wrSym.size > 0
    ? { addr: wrSym.value, count: Math.floor(wrSym.size / STRING_SIZE) }
    : optional(() => findWaitReasonStrings(elf, code));
  const gStatusStrings = sym('runtime.gStatusStrings')?.value ?? optional(() => findGStatusStrings(elf, code));
  const firstmoduledata = sym('runtime.firstmoduledata')?.value ?? optional(() => findFirstModuledata(elf, code));
  return {
    ...allg, waitReasonStrings: wr?.addr, waitReasonCount: wr?.count, gStatusStrings, buildVersion, firstmoduledata, source,
  };
}

/** `[count]string` at a link-time address, read statically from the file (PIE relocations applied). */
export function readStringArray(elf: ElfFile, addr: number, count: number): string[] {
  if (!Number.isInteger(count) || count < 0 || count > MAX_ARRAY) throw new BinaryFormatError(`string array of ${count} elements at 0x${addr.toString(16)} is implausible`);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const s = readGoString(elf, addr + i * STRING_SIZE);
    if (s === undefined) throw new BinaryFormatError(`element ${i} of the string array at 0x${addr.toString(16)} is not a valid string`);
    out.push(s);
  }
  return out;
}

/** A Go string header at `addr`, or undefined when it does not describe readable text. */
function readGoString(elf: ElfFile, addr: number): string | undefined {
  try {
    const data = elf.readPointer(addr);
    const len = u64(elf.readVaddr(addr + 8, 8), 0);
    if (len === 0) return data === 0 || elf.vaddrToOffset(data) !== undefined ? '' : undefined;
    if (len > MAX_STRING) return undefined;
    const s = elf.readVaddr(data, len).toString('latin1');
    // Runtime tables only hold printable ASCII.
    return /^[\x20-\x7e]+$/.test(s) ? s : undefined;
  } catch (err) {
    if (err instanceof GtopError) return undefined;
    throw err;
  }
}

function optional<T>(f: () => T | undefined): T | undefined {
  try {
    return f();
  } catch (err) {
    if (err instanceof GtopError) return undefined;
    throw err;
  }
}

class CodeCache {
  private readonly cache = new Map<string, Instr[] | undefined>();
  constructor(private readonly elf: ElfFile, private readonly lookup: FuncLookup) {}

  /** Decoded instructions of a function, or undefined when the binary has no such function. */
  get(name: string): Instr[] | undefined {
    if (this.cache.has(name)) return this.cache.get(name);
    const fn = this.lookup.funcByName(name);
    let instrs: Instr[] | undefined;
    if (fn && fn.end > fn.entry) instrs = decodeFunction(this.elf.readVaddr(fn.entry, fn.end - fn.entry), fn.entry);
    this.cache.set(name, instrs);
    return instrs;
  }
}

// ---- allglen / allgptr ----

function findAllg(elf: ElfFile, code: CodeCache, buildVersion: number | undefined): { allglen: number; allgptr: number } {
  const fail = (why: string): never => {
    const v = buildVersion !== undefined ? readGoString(elf, buildVersion) : undefined;
    throw new GtopError('bad-binary', `cannot locate runtime.allglen in stripped binary (${v ?? 'Go version unknown'}): ${why}`);
  };
  const allgadd = code.get('runtime.allgadd') ?? fail('no runtime.allgadd in the function table');
  // allgadd ends with atomicstorep(&allgptr, …) then atomic.Storeuintptr(&allglen, …): two XCHGs.
  const stores = distinct(xchgTargets(allgadd));
  if (stores.length < 2) fail(`expected 2 atomic stores in runtime.allgadd, found ${stores.length}`);
  const allgptr = stores[stores.length - 2]!;
  const allglen = stores[stores.length - 1]!;
  for (const [name, addr] of [['allgptr', allgptr], ['allglen', allglen]] as const) {
    if (addr % 8 !== 0 || !isWritable(elf, addr)) fail(`candidate ${name} 0x${addr.toString(16)} is not an aligned writable variable`);
  }
  // `if &allgs[0] != allgptr` compares against allgptr in the same function.
  if (!allgadd.some((i) => i.mnemonic === 'cmp' && i.ripTarget === allgptr)) fail('runtime.allgadd does not compare against the allgptr candidate');
  // forEachGRace reads both (atomicAllG); not inlined in any supported version, but only a cross-check.
  const race = code.get('runtime.forEachGRace');
  if (race) {
    const loads = new Set(race.filter((i) => i.mnemonic === 'mov').map((i) => i.ripTarget));
    if (!loads.has(allglen) || !loads.has(allgptr)) fail('runtime.forEachGRace does not load the allglen/allgptr candidates');
  }
  return { allglen, allgptr };
}

/** Addresses written by XCHG, either RIP-relative or through a register just loaded by `lea reg, [rip+X]`. */
function xchgTargets(instrs: readonly Instr[]): number[] {
  const out: number[] = [];
  for (let k = 0; k < instrs.length; k++) {
    const ins = instrs[k]!;
    if (ins.mnemonic !== 'xchg') continue;
    const mem = ins.operands.find((o) => o.kind === 'mem');
    if (!mem || mem.kind !== 'mem') continue;
    if (mem.rip !== undefined) out.push(mem.rip);
    else if (mem.base && !mem.index && mem.disp === 0) {
      const addr = leaBefore(instrs, k, mem.base);
      if (addr !== undefined) out.push(addr);
    }
  }
  return out;
}

/** The RIP-relative address put into `reg` by a LEA within the few instructions before `k`, if nothing overwrote it since. */
function leaBefore(instrs: readonly Instr[], k: number, reg: string): number | undefined {
  for (let j = k - 1; j >= Math.max(0, k - 4); j--) {
    const ins = instrs[j]!;
    const dst = ins.operands[0];
    if (!dst || dst.kind !== 'reg' || dst.reg !== reg) continue;
    return ins.mnemonic === 'lea' ? ins.ripTarget : undefined;
  }
  return undefined;
}

function distinct(xs: number[]): number[] {
  return xs.filter((x, i) => i === 0 || xs[i - 1] !== x);
}

function isWritable(elf: ElfFile, addr: number): boolean {
  return elf.segments.some((s) => s.type === PT_LOAD && (s.flags & PF_W) !== 0 && addr >= s.vaddr && addr + 8 <= s.vaddr + s.memsz);
}

// ---- string tables ----

function findWaitReasonStrings(elf: ElfFile, code: CodeCache): { addr: number; count: number } | undefined {
  // waitReason.String is the table's only reader besides its inlined copy in goroutineheader.
  const valid = (a: string[]) => a[0] === '' && a[1] === 'GC assist marking' && a[2] === 'IO wait';
  return findStringTable(elf, code, ['runtime.waitReason.String', 'runtime.goroutineheader'], valid, MAX_WAIT_REASONS);
}

function findGStatusStrings(elf: ElfFile, code: CodeCache): number | undefined {
  const valid = (a: string[]) => a[0] === 'idle' && a[1] === 'runnable' && a[2] === 'running';
  return findStringTable(elf, code, ['runtime.goroutineheader'], valid, 32)?.addr;
}

/** A `[N]string` referenced by a RIP-relative LEA in one of `funcs`, whose first elements pass `valid`. */
function findStringTable(
  elf: ElfFile, code: CodeCache, funcs: string[], valid: (first: string[]) => boolean, max: number,
): { addr: number; count: number } | undefined {
  for (const name of funcs) {
    const instrs = code.get(name);
    if (!instrs) continue;
    for (let k = 0; k < instrs.length; k++) {
      const ins = instrs[k]!;
      if (ins.mnemonic !== 'lea' || ins.ripTarget === undefined) continue;
      const addr = ins.ripTarget;
      const head = optional(() => readStringArray(elf, addr, 3));
      if (!head || !valid(head)) continue;
      const bound = boundBefore(instrs, k);
      if (bound !== undefined && bound >= 3 && bound <= max && optional(() => readStringArray(elf, addr, bound))) return { addr, count: bound };
      return { addr, count: countStrings(elf, addr, max) };
    }
  }
  return undefined;
}

/** N from the `cmp idx, N; jb/jae` bounds check shortly before an indexed table access. */
function boundBefore(instrs: readonly Instr[], k: number): number | undefined {
  for (let j = k - 1; j >= Math.max(0, k - 10); j--) {
    const cmp = instrs[j]!;
    const jcc = instrs[j + 1]!;
    if (cmp.mnemonic !== 'cmp' || cmp.immediate === undefined || cmp.operands[0]?.kind !== 'reg' || !jcc.isJcc) continue;
    if (jcc.mnemonic === 'jb' || jcc.mnemonic === 'jae') return cmp.immediate;
    if (jcc.mnemonic === 'jbe' || jcc.mnemonic === 'ja') return cmp.immediate + 1;
  }
  return undefined;
}

function countStrings(elf: ElfFile, addr: number, max: number): number {
  let n = 0;
  while (n < max && readGoString(elf, addr + n * STRING_SIZE) !== undefined) n++;
  return n;
}

// ---- buildVersion, firstmoduledata ----

function findBuildVersion(elf: ElfFile, code: CodeCache): number | undefined {
  // schedinit: `if buildVersion == "" { buildVersion = "unknown" }` touches the header and its len at +8.
  const instrs = code.get('runtime.schedinit') ?? [];
  for (const t of distinct(instrs.flatMap((i) => (i.ripTarget === undefined ? [] : [i.ripTarget])))) {
    for (const addr of [t, t - 8]) {
      const s = readGoString(elf, addr);
      if (s !== undefined && /^(go1\.\d+|devel )/.test(s)) return addr;
    }
  }
  return undefined;
}

function findFirstModuledata(elf: ElfFile, code: CodeCache): number | undefined {
  // The first word of a moduledata is its pcHeader.
  for (const name of ['runtime.findfunc', 'runtime.modulesinit']) {
    for (const ins of code.get(name) ?? []) {
      if (ins.mnemonic === 'lea' && ins.ripTarget !== undefined && optional(() => isPcHeader(elf, elf.readPointer(ins.ripTarget!)))) return ins.ripTarget;
    }
  }
  return undefined;
}

function isPcHeader(elf: ElfFile, addr: number): boolean {
  const h = elf.readVaddr(addr, 8);
  const magic = h.readUInt32LE(0);
  // 0xfffffff0: Go 1.18–1.19, 0xfffffff1: 1.20+; then two zero bytes, minLC 1 (x86), ptrSize 8.
  return (magic === 0xfffffff0 || magic === 0xfffffff1) && h[4] === 0 && h[5] === 0 && h[6] === 1 && h[7] === 8;
}

// ---- semtable, mheap_.arenas (wait-graph analysis) ----

/** runtime.semtable: [251]struct{root semaRoot; pad} with a 64-byte stride on amd64 (sema.go). */
export const SEMTABLE_SIZE = 251 * 64;

/**
 * Link-time address of `runtime.semtable`, or undefined when it cannot be
 * found. semacquire1 and semrelease1 both compute `&semtable[i].root` with a
 * LEA of the table; the address they share, writable with room for the whole
 * table, is it.
 */
export function findSemtable(elf: ElfFile, lookup: FuncLookup, opts: { ignoreSymtab?: boolean } = {}): number | undefined {
  const sym = opts.ignoreSymtab ? undefined : elf.symbol('runtime.semtable');
  if (sym) return sym.value;
  return optional(() => {
    const code = new CodeCache(elf, lookup);
    const leas = (name: string) => (code.get(name) ?? []).filter((i) => i.mnemonic === 'lea' && i.ripTarget !== undefined).map((i) => i.ripTarget!);
    const release = new Set(leas('runtime.semrelease1'));
    const shared = [...new Set(leas('runtime.semacquire1'))].filter((a) => release.has(a) && isWritableRange(elf, a, SEMTABLE_SIZE));
    return shared.length === 1 ? shared[0] : undefined;
  });
}

/**
 * Link-time address of `runtime.mheap_.arenas[0]` (the L2 arena map pointer;
 * linux/amd64 has a single L1 entry), or undefined. `arenasOffset` is
 * offsetof(mheap, arenas) for the symtab path; without symbols the address is
 * the first 8-byte RIP-relative load in runtime.findObject (inlined spanOf).
 */
export function findHeapArenas(elf: ElfFile, lookup: FuncLookup, arenasOffset: number, opts: { ignoreSymtab?: boolean } = {}): number | undefined {
  const sym = opts.ignoreSymtab ? undefined : elf.symbol('runtime.mheap_');
  if (sym) return sym.value + arenasOffset;
  return optional(() => {
    const code = new CodeCache(elf, lookup);
    for (const ins of code.get('runtime.findObject') ?? []) {
      if (ins.mnemonic !== 'mov' || ins.ripTarget === undefined) continue;
      const src = ins.operands[1];
      if (ins.operands[0]?.kind !== 'reg' || src?.kind !== 'mem' || src.size !== 8) continue;
      return ins.ripTarget % 8 === 0 && isWritableRange(elf, ins.ripTarget, 8) ? ins.ripTarget : undefined;
    }
    return undefined;
  });
}

function isWritableRange(elf: ElfFile, addr: number, len: number): boolean {
  return elf.segments.some((s) => s.type === PT_LOAD && (s.flags & PF_W) !== 0 && addr >= s.vaddr && addr + len <= s.vaddr + s.memsz);
}
