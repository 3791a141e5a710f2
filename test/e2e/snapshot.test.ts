// The acceptance test of the snapshot engine: for every supported Go version,
// plain and stripped, exe and PIE, gtop --once --json must agree with the
// runtime's own debug=2 dump on every goroutine that did not change between
// two dumps taken around it.
import test from 'ava';
import { buildFixture } from '../helpers/build.ts';
import { runGtop } from '../helpers/gtop.ts';
import { type OracleGoroutine, parseDump, stableGoroutines } from '../helpers/oracle.ts';
import { startFixture } from '../helpers/process.ts';
import { selectedToolchains } from '../helpers/toolchains.ts';

interface JsonFrame { function: string; file: string; line: number; inlined: boolean }
interface JsonGoroutine {
  id: number; status: string; waitReason: string | null; system: boolean; frames: JsonFrame[];
  createdBy: { function: string; file: string; line: number } | null; parentId: number | null; labels: Record<string, string>;
}

// What the oracle's bracket says for a gtop goroutine.
function bracket(g: JsonGoroutine): string {
  return g.waitReason ?? g.status;
}

const ACTIVE = new Set(['running', 'runnable', 'syscall', 'preempted']);

function compare(o: OracleGoroutine, g: JsonGoroutine | undefined): string[] {
  if (!g) return [`goroutine ${o.id} [${o.status}] is missing from gtop`];
  // A goroutine that was running or runnable in both dumps may be caught
  // anywhere by a reader that does not stop the world: it must exist and be
  // active, but its frames are a moving target.
  if (ACTIVE.has(o.status)) return ACTIVE.has(g.status) ? [] : [`goroutine ${o.id}: oracle ${o.status}, gtop ${bracket(g)}`];
  const errs: string[] = [];
  if (bracket(g) !== o.status) errs.push(`goroutine ${o.id}: status ${JSON.stringify(bracket(g))}, oracle ${JSON.stringify(o.status)}`);
  const want = o.frames.map((f) => `${f.function}${f.inlined ? '(...)' : ''} ${f.file}:${f.line}`);
  const got = g.frames.map((f) => `${f.function}${f.inlined ? '(...)' : ''} ${f.file}:${f.line}`);
  if (want.join('\n') !== got.join('\n')) errs.push(`goroutine ${o.id} frames differ:\n  oracle: ${want.join('\n          ')}\n  gtop:   ${got.join('\n          ')}`);
  const wc = o.createdBy ? `${o.createdBy.function} ${o.createdBy.file}:${o.createdBy.line}` : 'none';
  const gc = g.createdBy ? `${g.createdBy.function} ${g.createdBy.file}:${g.createdBy.line}` : 'none';
  if (wc !== gc) errs.push(`goroutine ${o.id} creator: oracle ${wc}, gtop ${gc}`);
  if (o.parentId !== g.parentId) errs.push(`goroutine ${o.id} parent: oracle ${o.parentId}, gtop ${g.parentId}`);
  return errs;
}

const variants = [
  { stripped: false, pie: false },
  { stripped: true, pie: false },
  { stripped: false, pie: true },
  { stripped: true, pie: true },
];

for (const tc of selectedToolchains()) {
  for (const variant of variants) {
    const name = `go1.${tc.minor} ${variant.stripped ? 'stripped' : 'plain'} ${variant.pie ? 'pie' : 'exe'}`;
    test.serial(`gtop --once --json matches the runtime's dump: ${name}`, async (t) => {
      const bin = await buildFixture('parking', tc, variant);
      const fx = await startFixture(bin);
      t.teardown(() => fx.stop());
      const before = parseDump(await fx.dump());
      const res = await runGtop(['-p', String(fx.pid), '--once', '--json']);
      const after = parseDump(await fx.dump());
      t.is(res.code, 0, res.stderr);
      const snap = JSON.parse(res.stdout) as { goVersion: string; goroutines: JsonGoroutine[] };
      t.regex(snap.goVersion, new RegExp(`^go1\\.${tc.minor}\\b`));
      const byId = new Map(snap.goroutines.map((g) => [g.id, g]));
      const stable = stableGoroutines(before, after);
      // The fixture parks ~40 goroutines; far fewer stable ones means the comparison is vacuous.
      t.true(stable.length >= 20, `only ${stable.length} goroutines were stable between the two dumps`);
      const errors = stable.flatMap((o) => compare(o, byId.get(o.id)));
      t.deepEqual(errors, []);
      // System goroutines are hidden by default, as in the runtime's dump.
      t.false(snap.goroutines.some((g) => g.system));
      // pprof labels: a sorted slice from Go 1.24 (readable), a map before (left out).
      const labelled = snap.goroutines.filter((g) => Object.keys(g.labels).length > 0);
      if (tc.minor >= 24) {
        t.deepEqual(labelled.map((g) => g.labels), [{ gtop: 'labelled' }]);
        t.true(labelled[0]!.frames.some((f) => f.function === 'runtime/pprof.Do'), 'the labelled goroutine runs under pprof.Do');
      } else {
        t.deepEqual(labelled, []);
      }
      const blocked = stable.filter((o) => !ACTIVE.has(o.status)).length;
      t.log(`${stable.length} stable goroutines (${blocked} blocked) matched`);
    });
  }
}
