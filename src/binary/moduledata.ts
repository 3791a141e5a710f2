// Locating `runtime.firstmoduledata` (runtime/symtab.go `moduledata`), which
// pclntab needs for `gofunc` (funcdata base, 1.18+) and `text` (1.26 no
// longer stores textStart in pcHeader). Works without `.symtab`: the struct
// starts with the pcHeader pointer followed by slice headers whose pointers
// all land inside pclntab at the offsets the pcHeader names.
import { BinaryFormatError } from '../errors.ts';
import { type ElfFile, PF_W, PT_LOAD, SHT_NOBITS } from './elf.ts';

/** pcHeader offsets (relative to the header) that moduledata's slices point at. */
export interface PclnOffsets {
  readonly funcname: number;
  readonly cu: number;
  readonly filetab: number;
  readonly pctab: number;
  readonly pcln: number;
}

export interface Moduledata {
  readonly addr: number;
  readonly minpc: number;
  readonly maxpc: number;
  readonly text: number;
  readonly etext: number;
  readonly types: number;
  readonly etypes: number;
  readonly rodata: number;
  readonly gofunc: number;
}

// amd64 field offsets, identical 1.18–1.26 up to enoptrbss (runtime/symtab.go):
// pcHeader 0, funcnametab 8, cutab 32, filetab 56, pctab 80, pclntable 104,
// ftab 128, findfunctab 152, minpc 160, maxpc 168, text 176, etext 184, …,
// noptrbss/enoptrbss 240/248. 1.20 inserted covctrs/ecovctrs there, which
// moves end…gofunc by 16.
const OFF = { minpc: 160, maxpc: 168, text: 176, etext: 184 } as const;
const TAIL_118 = { types: 280, etypes: 288, rodata: 296, gofunc: 304 } as const;
const TAIL_120 = { types: 296, etypes: 304, rodata: 312, gofunc: 320 } as const;

/**
 * Finds and decodes moduledata for a pclntab at `pcAddr`.
 * `hasCovctrs` = Go 1.20+ layout (pclntab magic 0xfffffff1).
 */
export function findModuledata(elf: ElfFile, pcAddr: number, offs: PclnOffsets, hasCovctrs: boolean): Moduledata {
  const matches = (addr: number): boolean => isModuledata(elf, addr, pcAddr, offs);
  let addr: number | undefined;
  const sym = elf.symbols().get('runtime.firstmoduledata');
  if (sym && matches(sym.value)) addr = sym.value;
  addr ??= scan(elf, pcAddr, matches);
  if (addr === undefined) throw new BinaryFormatError('runtime.firstmoduledata not found (no symbol, no match in data)');
  return decode(elf, addr, hasCovctrs);
}

function isModuledata(elf: ElfFile, addr: number, pcAddr: number, offs: PclnOffsets): boolean {
  try {
    return elf.readPointer(addr) === pcAddr
      && elf.readPointer(addr + 8) === pcAddr + offs.funcname
      && elf.readPointer(addr + 32) === pcAddr + offs.cu
      && elf.readPointer(addr + 56) === pcAddr + offs.filetab
      && elf.readPointer(addr + 80) === pcAddr + offs.pctab
      && elf.readPointer(addr + 104) === pcAddr + offs.pcln
      && elf.readPointer(addr + 128) === pcAddr + offs.pcln;
  } catch {
    return false;
  }
}

interface Region { vaddr: number; offset: number; size: number }

/** `.go.module` (1.26), `.noptrdata` (≤1.25), then every writable PT_LOAD. */
function regions(elf: ElfFile): Region[] {
  const out: Region[] = [];
  for (const name of ['.go.module', '.noptrdata']) {
    const s = elf.section(name);
    if (s && s.type !== SHT_NOBITS) out.push({ vaddr: s.addr, offset: s.offset, size: s.size });
  }
  for (const p of elf.segments) {
    if (p.type === PT_LOAD && p.flags & PF_W) out.push({ vaddr: p.vaddr, offset: p.offset, size: p.filesz });
  }
  return out;
}

function scan(elf: ElfFile, pcAddr: number, matches: (addr: number) => boolean): number | undefined {
  const needle = Buffer.alloc(8);
  needle.writeBigUInt64LE(BigInt(pcAddr));
  const all = regions(elf);
  for (const r of all) {
    const data = elf.readFileClamped(r.offset, r.size);
    for (let i = data.indexOf(needle); i >= 0; i = data.indexOf(needle, i + 1)) {
      const addr = r.vaddr + i;
      if (addr % 8 === 0 && matches(addr)) return addr;
    }
  }
  // A PIE whose linker left relocated slots zero in the file: the values live
  // only in R_X86_64_RELATIVE addends, which readPointer applies.
  if (!elf.isPie) return undefined;
  for (const r of all) {
    for (let a = r.vaddr + ((8 - (r.vaddr % 8)) % 8); a + 8 <= r.vaddr + r.size; a += 8) {
      if (elf.readPointer(a) === pcAddr && matches(a)) return a;
    }
  }
  return undefined;
}

function decode(elf: ElfFile, addr: number, hasCovctrs: boolean): Moduledata {
  const tail = hasCovctrs ? TAIL_120 : TAIL_118;
  const md: Moduledata = {
    addr,
    minpc: elf.readPointer(addr + OFF.minpc),
    maxpc: elf.readPointer(addr + OFF.maxpc),
    text: elf.readPointer(addr + OFF.text),
    etext: elf.readPointer(addr + OFF.etext),
    types: elf.readPointer(addr + tail.types),
    etypes: elf.readPointer(addr + tail.etypes),
    rodata: elf.readPointer(addr + tail.rodata),
    gofunc: elf.readPointer(addr + tail.gofunc),
  };
  // Cross-checks that catch a wrong layout guess: the ranges are ordered and
  // gofunc is mapped (it is go:func.* in rodata, or inside pclntab on 1.26).
  const ok = md.text <= md.minpc && md.minpc < md.maxpc && md.maxpc <= md.etext
    && md.types <= md.etypes && md.gofunc !== 0 && isMapped(elf, md.gofunc);
  if (!ok) throw new BinaryFormatError(`moduledata at 0x${addr.toString(16)} has an unexpected layout`);
  return md;
}

function isMapped(elf: ElfFile, addr: number): boolean {
  return elf.segments.some((p) => p.type === PT_LOAD && addr >= p.vaddr && addr < p.vaddr + p.memsz);
}
