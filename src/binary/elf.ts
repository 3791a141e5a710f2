// A small ELF64 little-endian reader: sections, program headers, symbols and
// (possibly compressed) section data. Everything is bounds-checked because the
// input may be a truncated or corrupted file; errors are BinaryFormatError.
import { inflateSync } from 'node:zlib';
import { BinaryFormatError } from '../errors.ts';
import { type AddrRange, Relocations, scanRelocation } from './relocs.ts';
import { type ByteSource, BufferSource } from './source.ts';

export const SHT_SYMTAB = 2;
export const SHT_NOBITS = 8;
export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;
export const SHF_COMPRESSED = 0x800;
export const PT_LOAD = 1;
export const PT_TLS = 7;
export const PF_X = 1;
export const PF_W = 2;
export const ET_EXEC = 2;
export const ET_DYN = 3;
const EM_X86_64 = 62;
const ELFCOMPRESS_ZLIB = 1;
// Decompressed DWARF above this is treated as corrupt rather than allocated.
const MAX_DECOMPRESSED = 1 << 30;
// Section names longer than this are treated as corrupt.
const NAME_LIMIT = 256;

export interface ElfSection {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly addr: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
}

export interface ElfSegment {
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly filesz: number;
  readonly memsz: number;
}

export interface ElfSymbol {
  readonly name: string;
  readonly value: number;
  readonly size: number;
  readonly type: number;
}

/** Reads a u64 as a JS number; addresses and sizes of real binaries fit in 2^53. */
export function u64(buf: Buffer, off: number): number {
  if (off < 0 || off + 8 > buf.length) throw new BinaryFormatError(`read past end of data at ${off}`);
  const v = buf.readBigUInt64LE(off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new BinaryFormatError(`64-bit value 0x${v.toString(16)} out of range at ${off}`);
  return Number(v);
}

export function u32(buf: Buffer, off: number): number {
  if (off < 0 || off + 4 > buf.length) throw new BinaryFormatError(`read past end of data at ${off}`);
  return buf.readUInt32LE(off);
}

export function u16(buf: Buffer, off: number): number {
  if (off < 0 || off + 2 > buf.length) throw new BinaryFormatError(`read past end of data at ${off}`);
  return buf.readUInt16LE(off);
}

/** NUL-terminated string at off; throws when unterminated within `limit` bytes. */
export function cstring(buf: Buffer, off: number, limit = 1 << 16): string {
  if (off < 0 || off >= buf.length) throw new BinaryFormatError(`string offset ${off} out of range`);
  const end = buf.indexOf(0, off);
  if (end < 0 || end - off > limit) throw new BinaryFormatError(`unterminated string at ${off}`);
  return buf.toString('latin1', off, end);
}

export class ElfFile {
  /** The file's bytes, read on demand: nothing beyond the headers is kept here. */
  readonly source: ByteSource;
  readonly type: number;
  readonly entry: number;
  readonly sections: readonly ElfSection[];
  readonly segments: readonly ElfSegment[];
  private symbolCache: Map<string, ElfSymbol> | undefined;
  private relocs: Relocations | undefined;
  /** Set by endSetup: the address ranges whose relocations `relocs` still holds. */
  private kept: readonly AddrRange[] | undefined;

  private constructor(source: ByteSource, type: number, entry: number, sections: ElfSection[], segments: ElfSegment[]) {
    this.source = source;
    this.type = type;
    this.entry = entry;
    this.sections = sections;
    this.segments = segments;
  }

  /** Parses the headers; a Buffer is the whole image (tests, fuzzing), a ByteSource is read on demand. */
  static parse(input: Buffer | ByteSource): ElfFile {
    const src = Buffer.isBuffer(input) ? new BufferSource(input) : input;
    const size = src.size;
    if (size < 64) throw new BinaryFormatError('not an ELF file');
    const data = src.read(0, 64);
    if (data.readUInt32BE(0) !== 0x7f454c46) throw new BinaryFormatError('not an ELF file');
    if (data[4] !== 2 || data[5] !== 1) throw new BinaryFormatError('not a 64-bit little-endian ELF file');
    const type = u16(data, 16);
    const machine = u16(data, 18);
    if (machine !== EM_X86_64) throw new BinaryFormatError(`ELF machine ${machine} is not x86-64 (gtop supports linux/amd64)`);
    const entry = u64(data, 24);
    const phoff = u64(data, 32);
    const shoff = u64(data, 40);
    const phentsize = u16(data, 54);
    const phnum = u16(data, 56);
    const shentsize = u16(data, 58);
    const shnum = u16(data, 60);
    const shstrndx = u16(data, 62);

    const segments: ElfSegment[] = [];
    if (phnum > 0 && phentsize < 56) throw new BinaryFormatError('bad program header size');
    if (phnum > 0) {
      const tableLen = (phnum - 1) * phentsize + 56;
      if (phoff + tableLen > size) throw new BinaryFormatError('program headers truncated');
      const ph = src.read(phoff, tableLen);
      for (let i = 0; i < phnum; i++) {
        const o = i * phentsize;
        segments.push({
          type: u32(ph, o), flags: u32(ph, o + 4), offset: u64(ph, o + 8),
          vaddr: u64(ph, o + 16), filesz: u64(ph, o + 32), memsz: u64(ph, o + 40),
        });
      }
    }

    const raw: Omit<ElfSection, 'name'>[] = [];
    const nameOffs: number[] = [];
    if (shoff !== 0 && shnum > 0) {
      if (shentsize < 64) throw new BinaryFormatError('bad section header size');
      const tableLen = (shnum - 1) * shentsize + 64;
      if (shoff + tableLen > size) throw new BinaryFormatError('section headers truncated');
      const sh = src.read(shoff, tableLen);
      for (let i = 0; i < shnum; i++) {
        const o = i * shentsize;
        nameOffs.push(u32(sh, o));
        raw.push({
          index: i, type: u32(sh, o + 4), flags: u64(sh, o + 8), addr: u64(sh, o + 16),
          offset: u64(sh, o + 24), size: u64(sh, o + 32), link: u32(sh, o + 40),
        });
      }
    }
    const sections: ElfSection[] = [];
    const strtab = raw[shstrndx];
    // A name may run past the table's end (corrupt input), as far as cstring's limit.
    const names = strtab && strtab.type !== SHT_NOBITS && strtab.offset + strtab.size <= size
      ? src.read(strtab.offset, Math.min(strtab.size + NAME_LIMIT, size - strtab.offset))
      : undefined;
    for (let i = 0; i < raw.length; i++) {
      let name = '';
      const off = nameOffs[i] ?? 0;
      if (names && off < strtab!.size) name = cstring(names, off, NAME_LIMIT);
      sections.push({ ...raw[i]!, name });
    }
    return new ElfFile(src, type, entry, sections, segments);
  }

  /**
   * Drops what only setup reads: the symbol table, and the PIE relocations
   * except in `keep` (the ranges later readers' readPointer calls hit, e.g.
   * moduledata). Everything still works afterwards, by reading the file again.
   */
  endSetup(keep: readonly AddrRange[] = []): void {
    this.symbolCache = undefined;
    this.relocs = this.relocs?.within(keep);
    this.kept = keep;
  }

  /** Closes the file (Session.close); reads after it fail. Idempotent. */
  close(): void {
    this.source.close();
  }

  /** Up to `len` file bytes at `off`, fewer where the file ends (the scans over segments). */
  readFileClamped(off: number, len: number): Buffer {
    if (!(off >= 0 && off < this.source.size)) return Buffer.alloc(0);
    return this.source.read(off, Math.min(len, this.source.size - off));
  }

  get isPie(): boolean {
    return this.type === ET_DYN;
  }

  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** Raw bytes of a section as stored in the file (no decompression). */
  rawSectionData(sec: ElfSection): Buffer {
    if (sec.type === SHT_NOBITS) return Buffer.alloc(0);
    if (sec.offset + sec.size > this.source.size) throw new BinaryFormatError(`section ${sec.name} extends past end of file`);
    return this.source.read(sec.offset, sec.size);
  }

  /**
   * Section bytes, decompressed when SHF_COMPRESSED (Go ≥ 1.19) or `.zdebug_*`
   * (Go 1.17–1.18). Not cached: DWARF is read once, at setup.
   */
  sectionData(sec: ElfSection): Buffer {
    let out = this.rawSectionData(sec);
    if (sec.flags & SHF_COMPRESSED) {
      if (out.length < 24) throw new BinaryFormatError(`compressed section ${sec.name} truncated`);
      const chType = u32(out, 0);
      const size = u64(out, 8);
      if (chType !== ELFCOMPRESS_ZLIB) throw new BinaryFormatError(`section ${sec.name}: unsupported compression ${chType}`);
      out = inflate(out.subarray(24), size, sec.name);
    } else if (sec.name.startsWith('.zdebug_') && out.length >= 12 && out.toString('latin1', 0, 4) === 'ZLIB') {
      const size = Number(out.readBigUInt64BE(4));
      out = inflate(out.subarray(12), size, sec.name);
    }
    return out;
  }

  /** DWARF section by its standard name (`info` → `.debug_info` or `.zdebug_info`). */
  dwarfSection(name: string): Buffer | undefined {
    const sec = this.section(`.debug_${name}`) ?? this.section(`.zdebug_${name}`);
    return sec ? this.sectionData(sec) : undefined;
  }

  /** Symbols from `.symtab` by name (empty when stripped); cached until endSetup. */
  symbols(): Map<string, ElfSymbol> {
    if (this.symbolCache) return this.symbolCache;
    const map = new Map<string, ElfSymbol>();
    this.forEachSymbol((name, syms, o) => map.set(name, symbolAt(name, syms, o)));
    if (!this.kept) this.symbolCache = map;
    return map;
  }

  /** One symbol by name: from the cache during setup, else by a pass over `.symtab` that keeps nothing. */
  symbol(name: string): ElfSymbol | undefined {
    if (this.symbolCache || !this.kept) return this.symbols().get(name);
    let found: ElfSymbol | undefined;
    // The last of equal names wins, as in symbols().
    this.forEachSymbol((n, syms, o) => {
      if (n === name) found = symbolAt(n, syms, o);
    });
    return found;
  }

  private forEachSymbol(f: (name: string, syms: Buffer, o: number) => void): void {
    const symtab = this.sections.find((s) => s.type === SHT_SYMTAB);
    if (!symtab) return;
    const link = this.sections[symtab.link];
    const strsec = link ? this.rawSectionData(link) : undefined;
    const syms = this.rawSectionData(symtab);
    for (let o = 24; o + 24 <= syms.length; o += 24) {
      const nameOff = u32(syms, o);
      if (!strsec || nameOff >= strsec.length) continue;
      const name = cstring(strsec, nameOff, 1 << 20);
      if (name) f(name, syms, o);
    }
  }

  /** File offset of a virtual address (link-time, before any load bias). */
  vaddrToOffset(addr: number): number | undefined {
    for (const s of this.segments) {
      if (s.type === PT_LOAD && addr >= s.vaddr && addr < s.vaddr + s.filesz) return addr - s.vaddr + s.offset;
    }
    return undefined;
  }

  /** Reads `len` bytes of the file image at a link-time virtual address. */
  readVaddr(addr: number, len: number): Buffer {
    const off = this.vaddrToOffset(addr);
    if (off === undefined || !(len >= 0 && off + len <= this.source.size)) throw new BinaryFormatError(`address 0x${addr.toString(16)} is not in the file image`);
    return this.source.read(off, len);
  }

  /**
   * Pointer-sized value at a link-time address as the loader would leave it
   * (before load bias): in a PIE the file slot is often 0 and the value is the
   * addend of an R_X86_64_RELATIVE relocation.
   */
  readPointer(addr: number): number {
    const reloc = this.relocation(addr);
    if (reloc !== undefined) return reloc;
    return u64(this.readVaddr(addr, 8), 0);
  }

  private relocation(addr: number): number | undefined {
    if (!this.kept) return (this.relocs ??= Relocations.read(this.source, this.sections)).get(addr);
    if (this.kept.some((r) => addr >= r.addr && addr < r.addr + r.len)) return this.relocs?.get(addr);
    // After setup, outside the kept ranges: rare (none of gtop's readers), so a pass over the file.
    if (!this.isPie) return undefined;
    return scanRelocation(this.source, this.sections, addr);
  }

  /** The PT_LOAD that contains file offset 0: the reference for the load bias of a PIE. */
  firstLoadSegment(): ElfSegment | undefined {
    return this.segments.find((s) => s.type === PT_LOAD && s.offset === 0) ?? this.segments.find((s) => s.type === PT_LOAD);
  }
}

function symbolAt(name: string, syms: Buffer, o: number): ElfSymbol {
  return { name, type: syms[o + 4]! & 0xf, value: u64(syms, o + 8), size: u64(syms, o + 16) };
}

function inflate(data: Buffer, size: number, name: string): Buffer {
  if (size > MAX_DECOMPRESSED) throw new BinaryFormatError(`compressed section ${name} claims ${size} bytes`);
  try {
    const out = inflateSync(data, { maxOutputLength: Math.max(size, 1) });
    if (out.length !== size) throw new BinaryFormatError(`compressed section ${name}: size ${out.length}, header says ${size}`);
    return out;
  } catch (err) {
    if (err instanceof BinaryFormatError) throw err;
    throw new BinaryFormatError(`compressed section ${name} is corrupt`, { cause: err });
  }
}
