// Go build info (`.go.buildinfo`): the toolchain version and the module
// information that `go version -m` prints. Mirrors debug/buildinfo
// (readRawBuildInfo) for the pointer format (≤1.17) and the inline uvarint
// format (1.18+); see go-runtime.md §9.
import { BinaryFormatError, GtopError } from '../errors.ts';
import { type ElfFile, PF_W, PF_X, PT_LOAD, u64 } from './elf.ts';

export interface BuildInfo {
  /** As stored, e.g. "go1.22.12", "go1.21.0 X:loopvar", "devel go1.23-abc123 …". */
  goVersion: string;
  goMinor: number;
  goPatch: number;
  /** modinfo text without its 16-byte sentinels ("" when absent). */
  modinfo: string;
  /** Main package path from the "path" line. */
  mainPath: string | undefined;
  /** Main module path from the "mod" line. */
  module: string | undefined;
  /** The "build" lines: key → value (quoted keys/values unquoted). */
  settings: Map<string, string>;
}

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const HEADER_SIZE = 32;
const ALIGN = 16;
const FLAGS_BIG_ENDIAN = 0x1;
const FLAGS_INLINE = 0x2;
// Version and modinfo strings longer than this are treated as corrupt.
const MAX_STRING = 1 << 24;

export const MIN_SUPPORTED_MINOR = 19;
export const MAX_SUPPORTED_MINOR = 26;

export function isSupportedGo(minor: number): boolean {
  return Number.isInteger(minor) && minor >= MIN_SUPPORTED_MINOR && minor <= MAX_SUPPORTED_MINOR;
}

export function readBuildInfo(elf: ElfFile): BuildInfo {
  const addr = findHeader(elf);
  const header = readBytes(elf, addr, HEADER_SIZE);
  const ptrSize = header[14]!;
  const flags = header[15]!;
  let goVersion: string;
  let rawMod: string;
  if (flags & FLAGS_INLINE) {
    const v = readUvarintString(elf, addr + HEADER_SIZE);
    goVersion = v.value;
    rawMod = readUvarintString(elf, v.next).value;
  } else {
    if (ptrSize !== 8 || flags & FLAGS_BIG_ENDIAN) throw new BinaryFormatError(`buildinfo: unsupported pointer size ${ptrSize} / flags ${flags}`);
    goVersion = readGoString(elf, u64(header, 16));
    rawMod = readGoString(elf, u64(header, 24));
  }
  if (!goVersion) throw new GtopError('not-go', 'buildinfo holds no Go version: not a Go executable');
  const modinfo = stripSentinels(rawMod);
  const { minor, patch } = parseGoVersion(goVersion);
  return { goVersion, goMinor: minor, goPatch: patch, modinfo, ...parseModinfo(modinfo) };
}

/** Minor and patch of a runtime.buildVersion string; tolerant of devel builds and experiment suffixes. */
export function parseGoVersion(v: string): { minor: number; patch: number } {
  const m = /go1\.(\d+)(?:\.(\d+))?/.exec(v);
  if (!m) throw new GtopError('unsupported-go', `cannot parse the Go version "${v}" of this binary`);
  return { minor: Number(m[1]), patch: m[2] === undefined ? 0 : Number(m[2]) };
}

function findHeader(elf: ElfFile): number {
  const sec = elf.section('.go.buildinfo');
  if (sec) {
    const data = elf.rawSectionData(sec);
    if (data.length >= HEADER_SIZE && data.subarray(0, MAGIC.length).equals(MAGIC)) return sec.addr;
    throw new BinaryFormatError('.go.buildinfo does not start with the buildinfo magic');
  }
  // No section headers (or the section was renamed): like debug/buildinfo,
  // search writable non-executable PT_LOADs at 16-byte alignment — all of
  // them, as a PIE puts its RELRO segment before the one holding buildinfo.
  const segs = elf.segments.filter((s) => s.type === PT_LOAD && (s.flags & (PF_W | PF_X)) === PF_W);
  for (const seg of segs) {
    const data = elf.readFileClamped(seg.offset, seg.filesz);
    // Alignment is of the address, not of the file offset.
    for (let i = data.indexOf(MAGIC); i >= 0; i = data.indexOf(MAGIC, i + 1)) {
      if ((seg.vaddr + i) % ALIGN === 0 && i + HEADER_SIZE <= data.length) return seg.vaddr + i;
    }
  }
  throw new GtopError('not-go', 'no Go buildinfo found: not a Go executable');
}

function readBytes(elf: ElfFile, addr: number, len: number): Buffer {
  return elf.readVaddr(addr, len);
}

function readUvarintString(elf: ElfFile, addr: number): { value: string; next: number } {
  const off = elf.vaddrToOffset(addr);
  if (off === undefined) throw new BinaryFormatError(`buildinfo string at 0x${addr.toString(16)} is outside the file`);
  // The loop gives up after 5 bytes (shift > 28).
  const head = elf.readFileClamped(off, 5);
  let len = 0;
  let shift = 0;
  let i = 0;
  for (;; i++) {
    if (i >= head.length || shift > 28) throw new BinaryFormatError('buildinfo: bad string length');
    const b = head[i]!;
    len += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(b & 0x80)) break;
  }
  const n = i + 1;
  if (len > MAX_STRING) throw new BinaryFormatError(`buildinfo: string of ${len} bytes`);
  const bytes = readBytes(elf, addr + n, len);
  return { value: bytes.toString('utf8'), next: addr + n + len };
}

/** A Go string header {data, len} at addr (pointer format, ≤1.17). */
function readGoString(elf: ElfFile, addr: number): string {
  const ptr = elf.readPointer(addr);
  const len = u64(readBytes(elf, addr + 8, 8), 0);
  if (len > MAX_STRING) throw new BinaryFormatError(`buildinfo: string of ${len} bytes`);
  if (len === 0) return '';
  return readBytes(elf, ptr, len).toString('utf8');
}

function stripSentinels(mod: string): string {
  // cmd/go frames modinfo with 16-byte sentinels (modload infoStart/infoEnd).
  if (mod.length >= 33 && mod[mod.length - 17] === '\n') return mod.slice(16, -16);
  return '';
}

function parseModinfo(modinfo: string): Pick<BuildInfo, 'mainPath' | 'module' | 'settings'> {
  let mainPath: string | undefined;
  let module: string | undefined;
  const settings = new Map<string, string>();
  for (const line of modinfo.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const kind = line.slice(0, tab);
    const rest = line.slice(tab + 1);
    if (kind === 'path') mainPath = rest;
    else if (kind === 'mod') module = rest.split('\t')[0];
    else if (kind === 'build') {
      const kv = splitSetting(rest);
      if (kv) settings.set(kv[0], kv[1]);
    }
  }
  return { mainPath, module, settings };
}

/** "key=value" where key and value may be Go-quoted (runtime/debug quoteKey/quoteValue). */
function splitSetting(kv: string): [string, string] | undefined {
  let key: string;
  let value: string;
  const q = kv[0];
  if (q === '"' || q === '`') {
    const end = quotedEnd(kv);
    if (end < 0 || kv[end] !== '=') return undefined;
    key = unquote(kv.slice(0, end));
    value = kv.slice(end + 1);
  } else {
    const eq = kv.indexOf('=');
    if (eq <= 0) return undefined;
    key = kv.slice(0, eq);
    value = kv.slice(eq + 1);
  }
  if (value[0] === '"' || value[0] === '`') value = unquote(value);
  return [key, value];
}

/** Index just past the closing quote of the quoted prefix of s, or -1. */
function quotedEnd(s: string): number {
  const q = s[0];
  for (let i = 1; i < s.length; i++) {
    if (q === '"' && s[i] === '\\') i++;
    else if (s[i] === q) return i + 1;
  }
  return -1;
}

function unquote(s: string): string {
  if (s.length >= 2 && s[0] === '`' && s.endsWith('`')) return s.slice(1, -1);
  try {
    const v: unknown = JSON.parse(s);
    if (typeof v === 'string') return v;
  } catch {
    // Go escapes JSON does not know (\x, \a, \v): keep the raw text.
  }
  return s;
}
