// resolveLayout: the generated table must give exactly what the DWARF of the
// probe built by each toolchain gives, and both must agree with the offsets
// verified by hand in /work/shared/go-runtime.md (§1.3, §3, §5).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ElfFile } from '../../src/binary/elf.ts';
import { readDwarf, type DwarfInfo, type StructLayout } from '../../src/binary/dwarf.ts';
import { DWARF_STRUCTS, SUPPORTED_GO_MINORS, resolveLayout, type RuntimeLayout } from '../../src/runtime/layout.ts';
import { GtopError } from '../../src/errors.ts';

const SCRIPT = fileURLToPath(new URL('../../scripts/gen-layouts.sh', import.meta.url));
const TABLE = fileURLToPath(new URL('../../src/runtime/layouts.generated.json', import.meta.url));

function probe(minor: number): string {
  return execFileSync(SCRIPT, ['--probe', String(minor)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

function dwarfOf(minor: number): DwarfInfo {
  const d = readDwarf(ElfFile.parse(readFileSync(probe(minor))), { structs: DWARF_STRUCTS, variables: [] });
  if (!d) throw new Error(`probe for 1.${minor} has no DWARF`);
  return d;
}

test('the table covers Go 1.19 to 1.26', (t) => {
  t.deepEqual(SUPPORTED_GO_MINORS, [19, 20, 21, 22, 23, 24, 25, 26]);
});

test('the committed table is what the extractor produces now', (t) => {
  const out = execFileSync(SCRIPT, ['--print', ...SUPPORTED_GO_MINORS.map(String)], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20,
  });
  t.deepEqual(JSON.parse(out), JSON.parse(readFileSync(TABLE, 'utf8')), 'run scripts/gen-layouts.sh to regenerate');
});

for (const minor of SUPPORTED_GO_MINORS) {
  test(`Go 1.${minor}: DWARF and table resolve to the same layout`, (t) => {
    const fromDwarf = resolveLayout(minor, dwarfOf(minor));
    const fromTable = resolveLayout(minor, undefined);
    t.is(fromDwarf.source, 'dwarf');
    t.is(fromTable.source, 'table');
    t.deepEqual({ ...fromDwarf, source: 'table' }, fromTable);
  });
}

// Expected values per version, from go-runtime.md (all DWARF-verified there).
const byMinor = <T>(m: number, table: [number, T][]): T => {
  let v = table[0]![1];
  for (const [from, val] of table) if (m >= from) v = val;
  return v;
};

for (const minor of SUPPORTED_GO_MINORS) {
  test(`Go 1.${minor}: offsets agree with go-runtime.md`, (t) => {
    const l: RuntimeLayout = resolveLayout(minor, undefined);
    const head = byMinor(minor, [[19, 0], [23, 8], [25, 0]]); // syscallbp (+8) in 1.23, gobuf.ret gone (−8) in 1.25
    t.like(l.g, {
      stackLo: 0, stackHi: 8, m: 48, schedSp: 56, schedPc: 64, schedBp: minor >= 25 ? 96 : 104,
      syscallsp: minor >= 25 ? 104 : 112, syscallpc: minor >= 25 ? 112 : 120,
      atomicstatus: 144 + head, goid: 152 + head, waitsince: 168 + head, waitreason: 176 + head,
    });
    t.is(l.g.syscallbp, byMinor(minor, [[19, undefined], [23, 128], [25, 120]]));
    t.is(l.g.parentGoid, byMinor(minor, [[19, undefined], [21, 272], [23, 280], [25, 272], [26, 280]]));
    t.is(l.g.lockedm, byMinor(minor, [[19, 232], [21, 208], [23, 216], [25, 208]]));
    t.is(l.g.gopc, byMinor(minor, [[19, 296], [21, 280], [23, 288], [25, 280], [26, 288]]));
    t.is(l.g.startpc, byMinor(minor, [[19, 312], [21, 296], [23, 304], [25, 296], [26, 304]]));
    t.is(l.g.waiting, byMinor(minor, [[19, 328], [21, 312], [23, 320], [25, 312], [26, 320]]));
    t.is(l.g.labels, byMinor(minor, [[19, 360], [21, 344], [23, 352], [25, 344], [26, 352]]));
    t.is(l.g.size, byMinor(minor, [[19, 392], [21, 408], [22, 424], [23, 432], [24, 440], [26, 456]]));
    t.deepEqual(l.m, minor >= 25 ? { procid: 64, curg: 184, id: minor === 25 ? 224 : 232 } : { procid: 72, curg: 192, id: 232 });
    t.is(l.hchan.lock, byMinor(minor, [[19, 88], [23, 96], [25, 104]]));
    t.is(l.hchan.size, byMinor(minor, [[19, 96], [23, 104], [25, 112]]));
    t.like(l.hchan, { qcount: 0, dataqsiz: 8, elemsize: 24, closed: 28, elemtype: minor >= 23 ? 40 : 32, recvq: minor >= 23 ? 64 : 56 });
    t.deepEqual(l.waitq, { first: 0, last: 8 });
    t.deepEqual(l.sudog, minor >= 26
      ? { g: 0, next: 8, prev: 16, elem: 32, isSelect: 60, waitlink: 72, c: 96, size: 104 }
      : { g: 0, next: 8, prev: 16, elem: 24, isSelect: 52, waitlink: 64, c: 80, size: 88 });
    t.deepEqual(l.moduledata, { text: 176, gofunc: minor >= 26 ? 320 : l.moduledata.gofunc, etext: 184 });
    t.true(typeof l.moduledata.gofunc === 'number');

    // 1.23.12 (a backport) has one reason more than 1.23.0's 37.
    t.is(l.waitReasons.length, byMinor(minor, [[19, 27], [20, 32], [22, 37], [23, 38], [24, 44], [25, 47]]));
    t.deepEqual(l.waitReasons.slice(0, 3), ['', 'GC assist marking', 'IO wait']);
    t.is(l.waitReasons[byMinor(minor, [[19, 14], [26, 19]])], 'chan receive');
    t.is(l.gStatusStrings.length, minor >= 26 ? 12 : 10);
    t.deepEqual(l.gStatusStrings.slice(0, 5), ['idle', 'runnable', 'running', 'syscall', 'waiting']);
    t.deepEqual(l.funcFlag, { topFrame: 1, spWrite: 2, asm: 4 });
    t.is(l.funcID.corostart === undefined, minor < 22);
    t.is(l.funcID.runCleanups === undefined, minor < 25);
    const ids = Object.values(l.funcID).filter((v) => v !== undefined);
    t.is(new Set(ids).size, ids.length, 'FuncIDs are distinct');
    t.like(l.funcID, {
      wrapper: byMinor(minor, [[19, 21], [22, 22], [25, 23]]), goexit: minor >= 22 ? 8 : 7, runtimeMain: minor >= 22 && minor < 25 ? 18 : 17,
      runfinq: byMinor(minor, [[19, 16], [22, 17], [25, 18]]),
    });
  });
}

test('unsupported versions are a GtopError naming the supported range', (t) => {
  for (const minor of [18, 27]) {
    const err = t.throws(() => resolveLayout(minor, undefined), { instanceOf: GtopError });
    t.is(err?.kind, 'unsupported-go');
    t.is(err?.message, `Go 1.${minor} is not supported (gtop supports Go 1.19 to 1.26)`);
  }
});

test('DWARF wins per struct, the table fills in the rest', (t) => {
  // A -race or staticlockranking build moves fields; DWARF sees it, the table cannot.
  const real = dwarfOf(21);
  const g = real.structs.get('runtime.g')!;
  const moved: StructLayout = { ...g, fields: new Map([...g.fields].map(([n, f]) => [n, n === 'goid' ? { ...f, offset: 999 } : f])) };
  const structs = new Map([...real.structs].filter(([n]) => n !== 'runtime.hchan'));
  structs.set('runtime.g', moved);
  const l = resolveLayout(21, { ...real, structs });
  t.is(l.source, 'dwarf');
  t.is(l.g.goid, 999);
  t.deepEqual(l.hchan, resolveLayout(21, undefined).hchan);
});

test('a field missing from the target DWARF is an unsupported runtime, not a silent table value', (t) => {
  const real = dwarfOf(23);
  const g = real.structs.get('runtime.g')!;
  const structs = new Map(real.structs);
  structs.set('runtime.g', { ...g, fields: new Map([...g.fields].filter(([n]) => n !== 'goid')) });
  const err = t.throws(() => resolveLayout(23, { ...real, structs }), { instanceOf: GtopError });
  t.is(err?.kind, 'unsupported-go');
  // Optional fields are simply absent.
  structs.set('runtime.g', { ...g, fields: new Map([...g.fields].filter(([n]) => n !== 'syscallbp')) });
  t.is(resolveLayout(23, { ...real, structs }).g.syscallbp, undefined);
});
