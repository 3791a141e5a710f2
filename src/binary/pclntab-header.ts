// Locating and validating the pclntab header (runtime/symtab.go `pcHeader`):
// by section name, by the runtime.pclntab symbol, or — without section
// headers — by scanning the PT_LOAD segments for the magic.
import { BinaryFormatError, GtopError } from '../errors.ts';
import { type ElfFile, PT_LOAD, u32 } from './elf.ts';

export type PclnFormat = '1.16' | '1.18' | '1.20';

/** The table bytes and the header's offsets, all relative to the header. */
export interface PclnLayout {
  readonly data: Buffer;
  /** Link-time address of the pcHeader. */
  readonly addr: number;
  readonly format: PclnFormat;
  readonly minLC: number;
  readonly nfunc: number;
  readonly nfiles: number;
  /** pcHeader.textStart (1.18+, 0 on 1.26); 0 for 1.16. */
  readonly textStart: number;
  readonly funcname: number;
  readonly cu: number;
  readonly filetab: number;
  readonly pctab: number;
  readonly pcln: number;
}

const MAGICS: Record<number, PclnFormat> = { 0xfffffffa: '1.16', 0xfffffff0: '1.18', 0xfffffff1: '1.20' };
const OLD_MAGIC = 0xfffffffb;
// pcHeader size: 1.16/1.17 have no textStart word.
const HEADER_SIZE = 72;
const HEADER_SIZE_116 = 64;
// More functions than this is not a real binary.
const MAX_FUNCS = 1 << 24;

export function findPclntab(elf: ElfFile): PclnLayout {
  const sec = elf.section('.gopclntab') ?? elf.section('.data.rel.ro.gopclntab');
  if (sec) return parseHeader(elf, elf.rawSectionData(sec), sec.addr);
  const syms = elf.symbols();
  const start = syms.get('runtime.pclntab');
  const end = syms.get('runtime.epclntab');
  if (start && end && end.value > start.value) {
    return parseHeader(elf, elf.readVaddr(start.value, end.value - start.value), start.value);
  }
  const found = scanSegments(elf);
  if (found) return found;
  throw new GtopError('not-go', 'no Go function table (.gopclntab) found: not a Go executable');
}

function parseHeader(elf: ElfFile, data: Buffer, addr: number): PclnLayout {
  if (data.length < HEADER_SIZE) throw new BinaryFormatError('pclntab header truncated');
  const magic = u32(data, 0);
  const format = MAGICS[magic];
  if (!format) {
    if (magic === OLD_MAGIC) throw new GtopError('unsupported-go', 'pclntab format of Go ≤1.15 is not supported');
    throw new BinaryFormatError(`unknown pclntab magic 0x${magic.toString(16)}`);
  }
  const minLC = data[6]!;
  const ptrSize = data[7]!;
  if (data[4] !== 0 || data[5] !== 0 || ptrSize !== 8 || minLC !== 1) {
    throw new BinaryFormatError(`pclntab header: minLC ${minLC}, ptrSize ${ptrSize} (expected amd64)`);
  }
  const word = (i: number): number => word64(data, 8 + i * 8);
  const w = format === '1.16' ? 2 : 3;
  const l: PclnLayout = {
    data, addr, format, minLC,
    nfunc: word(0), nfiles: word(1),
    // PIE ≤1.25 keeps this word under an R_X86_64_RELATIVE relocation.
    textStart: format === '1.16' ? 0 : elf.readPointer(addr + 24),
    funcname: word(w), cu: word(w + 1), filetab: word(w + 2), pctab: word(w + 3), pcln: word(w + 4),
  };
  validate(l);
  return l;
}

function word64(data: Buffer, off: number): number {
  const v = data.readBigUInt64LE(off);
  return v > 0xffffffffn ? Number.MAX_SAFE_INTEGER : Number(v);
}

function validate(l: PclnLayout): void {
  const ordered = (l.format === '1.16' ? HEADER_SIZE_116 : HEADER_SIZE) <= l.funcname && l.funcname <= l.cu && l.cu <= l.filetab
    && l.filetab <= l.pctab && l.pctab <= l.pcln && l.pcln < l.data.length;
  if (!ordered) throw new BinaryFormatError('pclntab header offsets out of order or out of range');
  if (l.nfunc > MAX_FUNCS) throw new BinaryFormatError(`pclntab claims ${l.nfunc} functions`);
  const ftabSize = l.format === '1.16' ? (l.nfunc * 2 + 1) * 8 : (l.nfunc * 2 + 1) * 4;
  if (l.pcln + ftabSize > l.data.length) throw new BinaryFormatError('pclntab functab truncated');
}

/** Without section headers: a magic at an 8-aligned address whose header validates. */
function scanSegments(elf: ElfFile): PclnLayout | undefined {
  const needles = Object.keys(MAGICS).map((m) => {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(Number(m), 0);
    b[6] = 1;
    b[7] = 8;
    return b;
  });
  for (const seg of elf.segments) {
    if (seg.type !== PT_LOAD) continue;
    const data = elf.readFileClamped(seg.offset, seg.filesz);
    for (const needle of needles) {
      for (let i = data.indexOf(needle); i >= 0; i = data.indexOf(needle, i + 1)) {
        if ((seg.vaddr + i) % 8 !== 0) continue;
        try {
          const l = parseHeader(elf, data.subarray(i), seg.vaddr + i);
          // Kept for the session: its own bytes (pclntab ends its segment), not a view of the whole segment.
          if (functabSorted(l)) return { ...l, data: elf.readFileClamped(seg.offset + i, seg.filesz - i) };
        } catch (err) {
          if (!(err instanceof GtopError)) throw err;
        }
      }
    }
  }
  return undefined;
}

function functabSorted(l: PclnLayout): boolean {
  const size = l.format === '1.16' ? 16 : 8;
  let prev = -1;
  for (let i = 0; i <= l.nfunc; i++) {
    const o = l.pcln + i * size;
    const e = l.format === '1.16' ? word64(l.data, o) : u32(l.data, o);
    if (e < prev) return false;
    prev = e;
  }
  return l.nfunc > 0;
}
