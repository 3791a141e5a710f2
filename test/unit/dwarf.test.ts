// readDwarf against Go's own debug/dwarf (the extractor in tools/genlayouts)
// on the probe built by every supported toolchain, plus robustness on
// truncated and corrupted DWARF.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ElfFile } from '../../src/binary/elf.ts';
import { readDwarf, readDwarfSections, type DwarfSections } from '../../src/binary/dwarf.ts';
import { BinaryFormatError } from '../../src/errors.ts';

const SCRIPT = fileURLToPath(new URL('../../scripts/gen-layouts.sh', import.meta.url));
const MINORS = [19, 20, 21, 22, 23, 24, 25, 26];
const VARIABLES = ['runtime.allglen', 'runtime.allgptr', 'runtime.waitReasonStrings', 'runtime.gStatusStrings'];
// Asked for in every version although some are missing or not structs in some (labelMap is a map before 1.24).
const EXTRA_STRUCTS = ['runtime/pprof.labelMap', 'runtime.maybeTraceablePtr', 'internal/sync.Mutex', 'no.such.Type'];

interface Entry { goVersion: string; structs: Record<string, { size: number; fields: Record<string, number> }> }

/** Path of the probe built by that Go version's toolchain (built once, cached in .cache/genlayouts). */
function probe(minor: number, stripped = false): string {
  const args = ['--probe', String(minor), ...(stripped ? ['--stripped'] : [])];
  return execFileSync(SCRIPT, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

const elfCache = new Map<string, ElfFile>();
function elfOf(path: string): ElfFile {
  let elf = elfCache.get(path);
  if (!elf) elfCache.set(path, (elf = ElfFile.parse(readFileSync(path))));
  return elf;
}

let oracle: Record<string, Entry>;
test.before(() => {
  const out = execFileSync(SCRIPT, ['--print', ...MINORS.map(String)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  oracle = JSON.parse(out) as Record<string, Entry>;
});

for (const minor of MINORS) {
  test(`Go 1.${minor}: structs and variables match debug/dwarf and .symtab`, (t) => {
    const entry = oracle[String(minor)];
    if (!entry) return t.fail(`extractor produced no entry for 1.${minor}`);
    const elf = elfOf(probe(minor));
    const wanted = [...Object.keys(entry.structs), ...EXTRA_STRUCTS];
    const d = readDwarf(elf, { structs: wanted, variables: VARIABLES });
    if (!d) return t.fail('no DWARF found in an unstripped binary');

    t.deepEqual([...d.structs.keys()].sort(), Object.keys(entry.structs).sort());
    for (const [name, want] of Object.entries(entry.structs)) {
      const got = d.structs.get(name)!;
      t.is(got.size, want.size, `${name} size`);
      t.deepEqual(Object.fromEntries([...got.fields].map(([f, l]) => [f, l.offset])), want.fields, `${name} fields`);
    }
    const syms = elf.symbols();
    for (const v of VARIABLES) {
      t.true(syms.has(v), `${v} in .symtab`);
      t.is(d.variables.get(v), syms.get(v)?.value, v);
    }
    t.is(d.producer?.startsWith(`Go cmd/compile ${entry.goVersion}`), true, `producer ${d.producer}`);

    // Member types: the referenced type's name and size.
    const g = d.structs.get('runtime.g')!.fields;
    t.deepEqual(g.get('sched'), { offset: g.get('sched')!.offset, typeName: 'runtime.gobuf', size: entry.structs['runtime.gobuf']!.size });
    t.like(g.get('m'), { typeName: '*runtime.m', size: 8 });
    t.like(g.get('goid'), { typeName: minor >= 20 ? 'uint64' : 'int64', size: 8 });
    t.like(d.structs.get('runtime.hchan')!.fields.get('elemsize'), { typeName: 'uint16', size: 2 });
    return undefined;
  });
}

for (const minor of [19, 25, 26]) {
  test(`Go 1.${minor}: stripped binary has no DWARF`, (t) => {
    t.is(readDwarf(elfOf(probe(minor, true)), { structs: ['runtime.g'], variables: VARIABLES }), undefined);
  });
}

test('reading the 1.26 probe is fast', (t) => {
  const elf = elfOf(probe(26));
  elf.dwarfSection('info');
  const start = performance.now();
  readDwarf(elf, { structs: ['no.such.Type'], variables: [] }); // forces a walk of every DIE
  const ms = performance.now() - start;
  // A figure, not an assertion: timings on a shared machine are noise.
  t.log(`full walk of ${elf.dwarfSection('info')!.length} bytes: ${ms.toFixed(0)} ms`);
  t.pass();
});

// ---- robustness -------------------------------------------------------------

function sectionsOf(elf: ElfFile): DwarfSections {
  return {
    info: elf.dwarfSection('info')!, abbrev: elf.dwarfSection('abbrev')!, str: elf.dwarfSection('str'),
    lineStr: elf.dwarfSection('line_str'), strOffsets: elf.dwarfSection('str_offsets'), addr: elf.dwarfSection('addr'),
  };
}

/** Offsets where a unit ends: truncating there leaves valid DWARF. */
function unitEnds(info: Buffer): Set<number> {
  const ends = new Set<number>([0]);
  for (let off = 0; off + 4 <= info.length;) {
    off += 4 + info.readUInt32LE(off);
    ends.add(off);
  }
  return ends;
}

function rng(seed: number): () => number {
  return () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

const WANT = { structs: ['runtime.g', 'runtime.hchan', 'runtime.sudog', 'no.such.Type'], variables: VARIABLES };
/**
 * Runs one mutated input: returns 'ok' or 'error'; anything else (RangeError,
 * TypeError) fails. A hang trips ava's test timeout; slowness is not judged
 * here because this machine is shared and noisy.
 */
function attempt(t: import('ava').ExecutionContext, s: DwarfSections, what: string): 'ok' | 'error' {
  let result: 'ok' | 'error' = 'ok';
  try {
    readDwarfSections(s, WANT);
  } catch (err) {
    if (!(err instanceof BinaryFormatError)) t.fail(`${what}: ${String(err)}`);
    result = 'error';
  }
  return result;
}

for (const minor of [19, 26]) { // DWARF 4 and DWARF 5
  test(`Go 1.${minor}: truncated .debug_info is a BinaryFormatError`, (t) => {
    const s = sectionsOf(elfOf(probe(minor)));
    const ends = unitEnds(s.info);
    const rand = rng(minor);
    for (let i = 0; i < 150; i++) {
      // Mostly early cuts (cheap), some anywhere.
      const len = Math.floor(rand() ** 2 * s.info.length);
      const r = attempt(t, { ...s, info: s.info.subarray(0, len) }, `truncated at ${len}`);
      t.is(r, ends.has(len) ? 'ok' : 'error', `truncated at ${len}`);
    }
    t.is(attempt(t, { ...s, abbrev: s.abbrev.subarray(0, s.abbrev.length >> 1) }, 'truncated abbrev'), 'error');
  });

  test(`Go 1.${minor}: corrupted .debug_info/.debug_abbrev never crash or hang`, (t) => {
    const s = sectionsOf(elfOf(probe(minor)));
    const rand = rng(1000 + minor);
    let errors = 0;
    for (let i = 0; i < 250; i++) {
      const target = i % 5 === 4 ? 'abbrev' : 'info';
      const buf = Buffer.from(s[target]);
      const flips = 1 + Math.floor(rand() * 4);
      for (let k = 0; k < flips; k++) buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256);
      if (attempt(t, { ...s, [target]: buf }, `case ${i} (${target})`) === 'error') errors++;
    }
    const garbage = Buffer.alloc(4096);
    for (let i = 0; i < garbage.length; i++) garbage[i] = Math.floor(rand() * 256);
    t.is(attempt(t, { ...s, info: garbage }, 'random .debug_info'), 'error');
    t.log(`${errors}/250 corruptions detected as BinaryFormatError, the rest parsed`);
    t.pass();
  });
}
