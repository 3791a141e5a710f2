// pclntab reader against Go's own answers: debug/gosym on the unstripped
// build (functions, pc→file:line) and runtime.CallersFrames inside the
// program (inline expansion), for every toolchain × {plain, -s -w, PIE},
// plus a copy with the section headers removed.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { ElfFile } from '../../src/binary/elf.ts';
import { findModuledata } from '../../src/binary/moduledata.ts';
import { findPclntab } from '../../src/binary/pclntab-header.ts';
import { funcNameForPrint, type GoFunc, Pclntab } from '../../src/binary/pclntab.ts';
import { BinaryFormatError, GtopError } from '../../src/errors.ts';
import {
  ALL_TOOLCHAINS, fixture, fixtures, type CapturedStack, gosymTruth, runFixture, type Toolchain, type Variant, VARIANTS, withoutSections,
} from './fixtures-static.ts';

const load = async (tc: Toolchain, v: Variant): Promise<ElfFile> => ElfFile.parse(readFileSync(await fixture(tc, v)));

const fmt = (f: { function: string; file: string; line: number }): string => `${f.function} ${f.file}:${f.line}`;

/**
 * runtime.Callers gives one pc per logical frame (inlined ones as
 * parentPc+1); CallersFrames gives one frame per pc. Our frames() on the
 * physical return address yields a whole group at once.
 */
function ourFrames(p: Pclntab, stack: CapturedStack, bias: number): { frames: string[]; inlined: number } {
  const out: string[] = [];
  let inlined = 0;
  for (let i = 0; i < stack.pcs.length;) {
    const pc = stack.pcs[i]! - bias;
    const fn = p.funcForPC(pc);
    if (!fn) throw new Error(`no function for pc 0x${pc.toString(16)}`);
    const frames = p.frames(fn, pc > fn.entry ? pc - 1 : pc);
    frames.forEach((f, j) => {
      if (f.inlined !== (j < frames.length - 1)) throw new Error(`inlined flag wrong at ${fmt(f)}`);
    });
    inlined += frames.length - 1;
    out.push(...frames.map((f) => fmt({ ...f, function: funcNameForPrint(f.function) })));
    i += frames.length;
  }
  return { frames: out, inlined };
}

for (const tc of ALL_TOOLCHAINS) {
  test(`go${tc}: functions and lines match debug/gosym (plain, -s -w, PIE, external-linked PIE, no section headers)`, async (t) => {
    await fixtures(tc);
    for (const v of VARIANTS) {
      const truth = gosymTruth(await fixture(tc, v === 'stripped' ? 'plain' : v));
      const elfs = v === 'stripped' ? [await load(tc, v), withoutSections(await load(tc, v))] : [await load(tc, v)];
      for (const elf of elfs) {
        const p = Pclntab.fromElf(elf);
        const what = `${v}${elf.sections.length ? '' : ' (no sections)'}`;
        t.is(p.format, tc === '1.17' ? '1.16' : tc === '1.19' ? '1.18' : '1.20', what);
        t.is(p.textStart, truth.text, `${what}: textStart`);
        t.deepEqual([...p.functions()].map((f) => `${f.entry} ${f.end} ${f.name}`),
          truth.funcs.map((f) => `${f.entry} ${f.end} ${f.name}`), `${what}: function list`);
        t.is(p.count, truth.funcs.length);
        let lineErrors = 0;
        for (const l of truth.lines) {
          const fn = p.funcForPC(l.pc)!;
          const fl = p.fileLine(fn, l.pc);
          // gosym reports "" / ≤ -1 where the runtime (and we) have no line:
          // padding after a function, or no pcln table at all (go:textfipsstart).
          const want = l.line < 0 ? undefined : { file: l.file, line: l.line };
          if (JSON.stringify(fl) !== JSON.stringify(want) && lineErrors++ < 5) t.fail(`${what} 0x${l.pc.toString(16)}: ${JSON.stringify(fl)} ≠ ${JSON.stringify(want)}`);
        }
        t.is(lineErrors, 0, `${what}: ${truth.lines.length} pcs`);
        for (const f of truth.funcs) {
          const byName = p.funcByName(f.name);
          if (!byName || byName.name !== f.name) t.fail(`${what}: funcByName(${f.name})`);
        }
        t.true(truth.lines.length > 4000);
      }
    }
  });

  test(`go${tc}: frames() reproduce runtime.CallersFrames, inline tree included`, async (t) => {
    await fixtures(tc);
    for (const v of VARIANTS) {
      const bin = await fixture(tc, v);
      const { stacks, outer } = runFixture(bin);
      t.true(stacks.length >= 5, `${v}: stacks printed`);
      for (const elf of [ElfFile.parse(readFileSync(bin)), withoutSections(ElfFile.parse(readFileSync(bin)))]) {
        const p = Pclntab.fromElf(elf);
        for (const s of stacks) {
          const ours = ourFrames(p, s, outer - p.funcByName('main.outer')!.entry);
          t.deepEqual(ours.frames, s.frames.map(fmt), `${v} ${s.tag}`);
          if (s.tag.startsWith('inline')) t.true(ours.inlined >= 2, `${v} ${s.tag}: two inlined levels expected`);
        }
      }
    }
  });
}

test('moduledata: found without symbols at runtime.firstmoduledata; gofunc = go:func.*', async (t) => {
  for (const tc of ALL_TOOLCHAINS) {
    if (tc === '1.17') continue; // the 1.16 format needs no moduledata
    for (const v of ['plain', 'pie', 'pie-ext'] as const) {
      const elf = await load(tc, v);
      const sym = (name: string): number => elf.symbols().get(name)?.value ?? -1;
      const bare = withoutSections(elf);
      const l = findPclntab(bare);
      const md = findModuledata(bare, l.addr, l, l.format === '1.20');
      t.is(md.addr, sym('runtime.firstmoduledata'), `go${tc} ${v}`);
      t.is(md.text, sym('runtime.text'));
      t.is(md.etext, sym('runtime.etext'));
      t.is(md.gofunc, Math.max(sym('go:func.*'), sym('go.func.*')), `go${tc} ${v}: gofunc`);
    }
  }
});

test('spDelta: 0 at every entry, the full frame size at call sites', async (t) => {
  for (const tc of ALL_TOOLCHAINS) {
    const bin = await fixture(tc, 'plain');
    const p = Pclntab.fromElf(ElfFile.parse(readFileSync(bin)));
    let checked = 0;
    for (const fn of p.functions()) {
      const d = p.spDelta(fn, fn.entry);
      if (d !== undefined && d !== 0) t.fail(`go${tc} ${fn.name}: spDelta at entry = ${d}`);
    }
    // Return addresses inside main.* functions: the call happens with the frame fully set up.
    for (const s of runFixture(bin).stacks) {
      for (const pc of s.pcs) {
        const fn = p.funcForPC(pc)!;
        if (!fn.name.startsWith('main.') || p.frames(fn, pc - 1).length > 1) continue;
        t.is(p.spDelta(fn, pc - 1), maxSpDelta(p, fn), `go${tc} ${fn.name}`);
        checked++;
      }
    }
    t.true(checked >= 10);
    t.is(p.spDelta(p.funcByName('main.outer')!, 0), undefined, 'pc outside the function');
  }
});

function maxSpDelta(p: Pclntab, fn: GoFunc): number {
  let max = 0;
  for (let pc = fn.entry; pc < fn.end; pc++) max = Math.max(max, p.spDelta(fn, pc) ?? 0);
  return max;
}

test('funcForPC: bounds and special functions', async (t) => {
  const p = Pclntab.fromElf(await load('1.26', 'stripped'));
  const first = p.functions()[Symbol.iterator]().next().value as GoFunc;
  t.is(p.funcForPC(first.entry - 1), undefined);
  t.is(p.funcForPC(first.entry)?.name, first.name);
  const all = [...p.functions()];
  t.is(p.funcForPC(all.at(-1)!.end), undefined);
  const goexit = p.funcByName('runtime.goexit')!;
  t.is(goexit.flag & 1, 1, 'runtime.goexit is a top frame');
  t.is(p.funcForPC(goexit.entry + 1), goexit, 'cached GoFunc objects');
  t.is(p.funcByName('no.such.function'), undefined);
  t.truthy(p.funcByName('runtime.gopark'));
  t.truthy(p.funcByName('sync.(*Mutex).Lock') ?? p.funcByName('internal/sync.(*Mutex).lockSlow'));
});

test('not a Go binary → GtopError not-go', async (t) => {
  const elf = ElfFile.parse(readFileSync('/bin/true'));
  const err = t.throws(() => Pclntab.fromElf(elf));
  t.true(err instanceof GtopError && err.kind === 'not-go', String(err));
});

/** Deterministic xorshift so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

function exercise(elf: ElfFile, rand: () => number): void {
  const p = Pclntab.fromElf(elf);
  const all = [...p.functions()];
  for (let i = 0; i < 200 && all.length; i++) {
    const fn = all[Math.floor(rand() * all.length)]!;
    const pc = fn.entry + Math.floor(rand() * (fn.end - fn.entry));
    p.funcForPC(pc);
    p.funcForPC(Math.floor(rand() * 2 ** 32));
    p.frames(fn, pc);
    p.fileLine(fn, pc);
    p.spDelta(fn, pc);
  }
  p.funcByName('main.main');
}

test('corrupted or truncated tables throw BinaryFormatError, never hang or RangeError', async (t) => {
  for (const tc of ['1.17', '1.19', '1.26'] as const) {
    const base = await load(tc, 'stripped');
    const sec = base.section('.gopclntab')!;
    const rand = rng(Number(tc.slice(2)) * 7919);
    for (let round = 0; round < 120; round++) {
      const buf = Buffer.from(base.source.read(0, base.source.size));
      if (round % 4 === 0) {
        // Truncate the file somewhere inside pclntab (sections then point past EOF).
        const cut = sec.offset + Math.floor(rand() * sec.size);
        tryExercise(t, () => ElfFile.parse(buf.subarray(0, cut)), rand, `go${tc} truncated at ${cut}`);
        continue;
      }
      // Header words on some rounds, anywhere in the table on the others.
      const span = round % 4 === 1 ? 80 : sec.size;
      for (let k = 0; k < 1 + Math.floor(rand() * 32); k++) {
        buf[sec.offset + Math.floor(rand() * span)] = Math.floor(rand() * 256);
      }
      tryExercise(t, () => ElfFile.parse(buf), rand, `go${tc} round ${round}`);
    }
  }
  t.log(`corrupted inputs: ${outcomes.ok} read through, ${outcomes.rejected} rejected with BinaryFormatError/GtopError`);
  t.true(outcomes.ok > 50 && outcomes.rejected > 50, 'both outcomes exercised');
});

const outcomes = { ok: 0, rejected: 0 };

function tryExercise(t: { fail: (m: string) => void; pass: () => void }, make: () => ElfFile, rand: () => number, what: string): void {
  const started = performance.now();
  try {
    exercise(make(), rand);
    outcomes.ok++;
  } catch (err) {
    if (!(err instanceof BinaryFormatError) && !(err instanceof GtopError)) {
      t.fail(`${what}: ${(err as Error).stack}`);
      return;
    }
    outcomes.rejected++;
  }
  if (performance.now() - started > 2000) t.fail(`${what}: took ${performance.now() - started} ms`);
  else t.pass();
}

test('lookups are fast enough for 100k frames per snapshot', async (t) => {
  const bin = await fixture('1.26', 'plain');
  const p = Pclntab.fromElf(ElfFile.parse(readFileSync(bin)));
  const pcs = runFixture(bin).stacks.flatMap((s) => s.pcs);
  const all = [...p.functions()];
  const rand = rng(42);
  // Realistic mix: snapshot pcs repeat a lot, plus random pcs in random functions.
  const sample = Array.from({ length: 100_000 }, (_, i) => {
    if (i % 2) return pcs[i % pcs.length]! - 1;
    const fn = all[Math.floor(rand() * all.length)]!;
    return fn.entry + Math.floor(rand() * (fn.end - fn.entry));
  });
  const started = performance.now();
  let frames = 0;
  for (const pc of sample) {
    const fn = p.funcForPC(pc)!;
    frames += p.frames(fn, pc).length;
    p.spDelta(fn, pc);
  }
  const ms = performance.now() - started;
  t.log(`100k funcForPC+frames+spDelta: ${ms.toFixed(0)} ms (${frames} frames)`);
  t.true(ms < 5000, `${ms} ms`);
});
