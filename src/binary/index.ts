// BinaryInfo: everything gtop learns from the executable alone, computed once
// per session (Delve's BinaryInfo): version, functions, layouts, globals.
import { BinaryFormatError, GtopError } from '../errors.ts';
import { type RuntimeLayout, DWARF_STRUCTS, resolveLayout } from '../runtime/layout.ts';
import { type BuildInfo, isSupportedGo, readBuildInfo } from './buildinfo.ts';
import { type DwarfInfo, readDwarf } from './dwarf.ts';
import { ElfFile } from './elf.ts';
import { type RuntimeGlobals, findRuntimeGlobals, readStringArray } from './globals.ts';
import { Pclntab } from './pclntab.ts';
import { type ByteSource, FileSource } from './source.ts';

export interface BinaryInfo {
  path: string;
  elf: ElfFile;
  build: BuildInfo;
  pclntab: Pclntab;
  dwarf: DwarfInfo | undefined;
  layout: RuntimeLayout;
  globals: RuntimeGlobals;
  /** The binary's own runtime.waitReasonStrings when readable, else the version's table. */
  waitReasons: readonly string[];
  waitReasonsSource: 'binary' | 'table';
}

// Bytes of runtime.moduledata whose PIE relocations are kept after setup: the struct is ~600 on amd64 1.19–1.26.
const MODULEDATA_SPAN = 1024;

export interface LoadOptions {
  /** How to name the binary in errors, e.g. "process 123 (/usr/bin/x)". */
  displayName?: string;
}

/**
 * Opens the executable and reads what gtop needs from it. The file stays open
 * (read on demand, see source.ts) until `bin.elf.close()`, which the Session
 * calls.
 */
export function loadBinary(path: string, opts: LoadOptions = {}): BinaryInfo {
  const name = opts.displayName ?? path;
  let source: FileSource;
  try {
    source = new FileSource(path, name);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw new GtopError('permission', `cannot read the executable of ${name}: run gtop as root`);
    if (code === 'ENOENT') throw new GtopError('process-gone', `the executable of ${name} is gone`);
    throw new GtopError('bad-binary', `cannot read the executable of ${name}: ${(err as Error).message}`);
  }
  try {
    return analyzeBinary(source, path, name);
  } catch (err) {
    source.close();
    throw err;
  }
}

/** Parses an executable image (a Buffer: the entry point for the fuzz tests). */
export function analyzeBinary(data: Buffer | ByteSource, path: string, name = path): BinaryInfo {
  let elf: ElfFile;
  try {
    elf = ElfFile.parse(data);
  } catch (err) {
    if (err instanceof BinaryFormatError) throw new GtopError('not-go', `${name} is not a Go program: ${err.message}`);
    throw err;
  }
  let build: BuildInfo;
  try {
    build = readBuildInfo(elf);
  } catch (err) {
    if (err instanceof GtopError && err.kind === 'not-go') throw new GtopError('not-go', `${name} is not a Go program (no Go build info in its executable)`);
    throw err;
  }
  if (!isSupportedGo(build.goMinor)) {
    throw new GtopError('unsupported-go', `${name} was built with ${build.goVersion}; gtop supports Go 1.19 to 1.26`);
  }
  const pclntab = Pclntab.fromElf(elf);
  const dwarf = readDwarfTolerant(elf);
  const layout = resolveLayout(build.goMinor, dwarf);
  const globals = findRuntimeGlobals(elf, pclntab);
  const { waitReasons, source } = loadWaitReasons(elf, globals, layout);
  // What is read after setup: moduledata's words (src/analysis), through readPointer.
  elf.endSetup(globals.firstmoduledata === undefined ? [] : [{ addr: globals.firstmoduledata, len: MODULEDATA_SPAN }]);
  return { path, elf, build, pclntab, dwarf, layout, globals, waitReasons, waitReasonsSource: source };
}

// Broken DWARF must not make a good binary unusable: the table covers it.
function readDwarfTolerant(elf: ElfFile): DwarfInfo | undefined {
  try {
    return readDwarf(elf, { structs: DWARF_STRUCTS, variables: [] });
  } catch (err) {
    if (err instanceof BinaryFormatError) return undefined;
    throw err;
  }
}

function loadWaitReasons(elf: ElfFile, globals: RuntimeGlobals, layout: RuntimeLayout): { waitReasons: readonly string[]; source: 'binary' | 'table' } {
  if (globals.waitReasonStrings !== undefined) {
    const count = globals.waitReasonCount ?? layout.waitReasons.length;
    try {
      const strings = readStringArray(elf, globals.waitReasonStrings, count);
      if (strings[1] === 'GC assist marking' && strings[2] === 'IO wait') return { waitReasons: strings, source: 'binary' };
    } catch (err) {
      if (!(err instanceof BinaryFormatError)) throw err;
    }
  }
  return { waitReasons: layout.waitReasons, source: 'table' };
}
