// Runtime globals by disassembly must equal the symbol table, for every
// supported toolchain, exe and PIE. A `-s -w` build moves data by a few bytes
// against a plain build (the -ldflags string is recorded in the build info),
// so the reference for the stripped build is a "twin" built with
// -ldflags="-w -w": same length of build info, same layout, symtab kept.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { decodeFunction, formatInstrs } from '../../src/binary/disasm.ts';
import { ElfFile } from '../../src/binary/elf.ts';
import { findRuntimeGlobals, readStringArray } from '../../src/binary/globals.ts';
import { Pclntab } from '../../src/binary/pclntab.ts';
import { BinaryFormatError, GtopError } from '../../src/errors.ts';
import { type TinyVariant, buildTiny } from '../helpers/tiny.ts';
import { TOOLCHAINS as TOOLCHAIN_MATRIX } from '../helpers/toolchains.ts';

const TOOLCHAINS = TOOLCHAIN_MATRIX.map((tc) => `1.${tc.minor}`);

/** The tiny program of test/helpers/tiny.ts built with Go `minor` ("1.NN"). */
function build(minor: string, mode: 'exe' | 'pie', variant: TinyVariant): string {
  return buildTiny(Number(minor.slice(2)), mode, variant);
}

const load = (path: string) => ElfFile.parse(readFileSync(path));

/** Function lookup from a binary's .symtab (stand-in for pclntab). */
function symLookup(elf: ElfFile) {
  const syms = elf.symbols();
  return {
    funcByName(name: string) {
      const s = syms.get(name);
      return s && s.type === 2 /* STT_FUNC */ ? { entry: s.value, end: s.value + s.size } : undefined;
    },
  };
}

function symbolGlobals(elf: ElfFile) {
  const s = (n: string) => elf.symbols().get(n);
  return {
    allglen: s('runtime.allglen')?.value, allgptr: s('runtime.allgptr')?.value,
    waitReasonStrings: s('runtime.waitReasonStrings')?.value, waitReasonCount: (s('runtime.waitReasonStrings')?.size ?? 0) / 16,
    gStatusStrings: s('runtime.gStatusStrings')?.value, buildVersion: s('runtime.buildVersion')?.value,
    firstmoduledata: s('runtime.firstmoduledata')?.value,
  };
}

function funcSymbols(elf: ElfFile): string {
  return [...elf.symbols().values()].filter((s) => s.type === 2).map((s) => `${s.name}@${s.value}+${s.size}`).sort().join('\n');
}

for (const minor of TOOLCHAINS) {
  for (const mode of ['exe', 'pie'] as const) {
    test.serial(`Go ${minor} ${mode}: disassembly finds the symtab addresses`, (t) => {
      const plain = load(build(minor, mode, 'plain'));
      const twin = load(build(minor, mode, 'twin'));
      const stripped = load(build(minor, mode, 'stripped'));
      t.is(stripped.symbols().size, 0, 'the -s -w build has no .symtab');
      t.is(stripped.isPie, mode === 'pie');
      // Function addresses are identical across plain / -w -w / -s -w builds.
      t.is(funcSymbols(twin), funcSymbols(plain));

      const viaSymtab = findRuntimeGlobals(plain, symLookup(plain));
      t.is(viaSymtab.source, 'symtab');
      t.deepEqual({ ...viaSymtab, source: undefined }, { ...symbolGlobals(plain), source: undefined });

      const expected = symbolGlobals(twin);
      for (const v of Object.values(expected)) t.truthy(v, 'reference symbol present');
      const got = findRuntimeGlobals(stripped, symLookup(twin));
      t.is(got.source, 'disasm');
      t.deepEqual({ ...got, source: undefined }, { ...expected, source: undefined });
      // The production path: function bounds from the stripped binary's own pclntab.
      const viaPclntab = findRuntimeGlobals(stripped, Pclntab.fromElf(stripped));
      t.deepEqual(viaPclntab, got);
      // The same strategy on the unstripped build, symbol table ignored.
      const forced = findRuntimeGlobals(plain, symLookup(plain), { ignoreSymtab: true });
      t.deepEqual({ ...forced, source: undefined }, { ...symbolGlobals(plain), source: undefined });

      const reasons = readStringArray(stripped, got.waitReasonStrings!, got.waitReasonCount!);
      t.deepEqual(reasons.slice(0, 3), ['', 'GC assist marking', 'IO wait']);
      t.true(reasons.includes('chan receive'));
      t.true(reasons.includes('select'));
      const statuses = readStringArray(stripped, got.gStatusStrings!, 10);
      t.deepEqual(statuses.slice(0, 5), ['idle', 'runnable', 'running', 'syscall', 'waiting']);
      const [version] = readStringArray(stripped, got.buildVersion!, 1);
      t.regex(version!, new RegExp(`^go${minor.replace('.', '\\.')}(\\.\\d+)?$`));
    });
  }
}

test.serial('a stripped binary without runtime.allgadd fails with a bad-binary error naming the version', (t) => {
  const stripped = load(build('1.26', 'exe', 'stripped'));
  const lookup = symLookup(load(build('1.26', 'exe', 'twin')));
  const err = t.throws(() => findRuntimeGlobals(stripped, { funcByName: (n) => (n === 'runtime.allgadd' ? undefined : lookup.funcByName(n)) }));
  t.true(err instanceof GtopError);
  t.is((err as GtopError).kind, 'bad-binary');
  t.regex(err!.message, /^cannot locate runtime\.allglen in stripped binary \(go1\.26\.\d+\): no runtime\.allgadd/);
});

test.serial('disassembly of garbage code is rejected by validation, not by a crash', (t) => {
  const stripped = load(build('1.26', 'exe', 'stripped'));
  const lookup = symLookup(load(build('1.26', 'exe', 'twin')));
  // Point every function at runtime.memmove: real code, but none of the expected patterns.
  const memmove = lookup.funcByName('runtime.memmove')!;
  const err = t.throws(() => findRuntimeGlobals(stripped, { funcByName: () => memmove }));
  t.is((err as GtopError).kind, 'bad-binary');
  // Ranges outside the file image are a BinaryFormatError.
  t.throws(() => findRuntimeGlobals(stripped, { funcByName: () => ({ entry: 0x10, end: 0x100 }) }), { instanceOf: BinaryFormatError });
});

test.serial('mutated code and data: a result or a GtopError, never another exception', (t) => {
  const path = build('1.26', 'pie', 'stripped');
  const pristine = readFileSync(path);
  const lookup = symLookup(load(build('1.26', 'pie', 'twin')));
  const ref = findRuntimeGlobals(load(path), lookup);
  const targets = ['runtime.allgadd', 'runtime.forEachGRace', 'runtime.goroutineheader', 'runtime.waitReason.String', 'runtime.schedinit', 'runtime.findfunc']
    .map((n) => lookup.funcByName(n)!).map((f) => [f.entry, f.end] as const);
  targets.push([ref.waitReasonStrings!, ref.waitReasonStrings! + 47 * 16], [ref.gStatusStrings!, ref.gStatusStrings! + 12 * 16]);
  const elf0 = load(path);
  let seed = 12345;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  let ok = 0;
  let rejected = 0;
  for (let iter = 0; iter < 200; iter++) {
    const data = Buffer.from(pristine);
    const [lo, hi] = targets[rand(targets.length)]!;
    for (let k = 0; k < 1 + rand(8); k++) data[elf0.vaddrToOffset(lo + rand(hi - lo))!] = rand(256);
    try {
      const g = findRuntimeGlobals(ElfFile.parse(data), lookup);
      // A mutation may leave the answer intact; it must never move allglen/allgptr silently.
      t.deepEqual([g.allglen, g.allgptr], [ref.allglen, ref.allgptr]);
      ok++;
    } catch (err) {
      if (!(err instanceof GtopError)) throw err;
      rejected++;
    }
  }
  t.log(`${ok} found, ${rejected} rejected`);
  t.is(ok + rejected, 200);
  t.true(ok > 0);
});

test('readStringArray rejects implausible counts and non-strings', (t) => {
  const plain = load(build('1.26', 'exe', 'plain'));
  const g = symbolGlobals(plain);
  t.throws(() => readStringArray(plain, g.waitReasonStrings!, 1e9), { instanceOf: BinaryFormatError });
  // allglen lives in .noptrbss: not in the file image.
  t.throws(() => readStringArray(plain, g.allglen!, 1), { instanceOf: BinaryFormatError });
  t.deepEqual(readStringArray(plain, g.gStatusStrings!, 0), []);
});

test('decodeFunction: records for branches, RIP-relative operands and returns', (t) => {
  // 48 8d 05 10 00 00 00   lea rax, [rip+0x10]
  // 48 87 08               xchg [rax], rcx
  // 83 f9 2f               cmp ecx, 0x2f
  // 72 02                  jb +2
  // 90                     nop
  // c3                     ret
  // e8 00 00 00 00         call next
  // ff                     (truncated: invalid)
  const code = Buffer.from(['488d0510000000', '488708', '83f92f', '7202', '90', 'c3', 'e800000000', 'ff'].join(''), 'hex');
  const ins = decodeFunction(code, 0x401000);
  t.deepEqual(ins.map((i) => i.mnemonic), ['lea', 'xchg', 'cmp', 'jb', 'nop', 'ret', 'call', 'invalid']);
  t.is(ins[0]!.ripTarget, 0x401000 + 7 + 0x10);
  t.deepEqual(ins[0]!.regs, ['rax']);
  t.like(ins[1]!.operands[0], { kind: 'mem', base: 'rax', disp: 0, size: 8, rip: undefined });
  t.is(ins[2]!.immediate, 0x2f);
  t.true(ins[3]!.isJcc);
  t.is(ins[3]!.branchTarget, 0x401000 + 15 + 2);
  t.true(ins[4]!.isNop);
  t.true(ins[5]!.isRet);
  t.true(ins[6]!.isCall);
  t.is(ins[6]!.branchTarget, 0x401000 + 0x16);
  t.is(ins.reduce((n, i) => n + i.length, 0), code.length);
  t.is(formatInstrs(ins)[0], `0x401000  lea rax, [0x${(0x401017).toString(16)}]`);
});
