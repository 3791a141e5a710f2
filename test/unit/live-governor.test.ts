// The overhead governor's decisions on synthetic hit totals (pure logic).
import test from 'ava';
import { Governor, type ProbeTotals } from '../../src/live/governor.ts';
import type { ProbeName } from '../../src/bpf/session.ts';

const COST = 2500;
function totals(hits: Partial<Record<ProbeName, number>>): Map<ProbeName, ProbeTotals> {
  return new Map(Object.entries(hits).map(([n, h]) => [n as ProbeName, { hits: h!, costNs: h! * COST }]));
}

test('a sustained hot rate detaches every probe that does not fit, hottest first', (t) => {
  const g = new Governor(['park', 'ready', 'exit'], 0, { budgetPct: 1 });
  // 400k hits/s each on park and ready for 50 ms, exit idle.
  const acts = g.tick(50, totals({ park: 20_000, ready: 19_000, exit: 0 }));
  t.deepEqual(acts.map((a) => [a.probe, a.attach]), [['park', false], ['ready', false]]);
  t.true(g.isAttached('exit'));
  t.is(g.currentPct(), 0);
});

test('a burst within one second of budget detaches nothing', (t) => {
  const g = new Governor(['park', 'ready', 'exit'], 0, { budgetPct: 1 });
  // 300 exits at once = 0.75 ms of CPU: under the 10 ms burst allowance.
  t.deepEqual(g.tick(50, totals({ exit: 300 })), []);
  t.deepEqual(g.tick(100, totals({ exit: 300 })), []);
  t.true(g.isAttached('exit'));
});

test('detached probes are re-sampled after the back-off and kept when they fit', (t) => {
  const g = new Governor(['park'], 0, { budgetPct: 1, minBackoffMs: 1000, sampleMs: 100 });
  t.deepEqual(g.tick(50, totals({ park: 20_000 })).map((a) => a.attach), [false]);
  t.deepEqual(g.tick(500, totals({ park: 20_000 })), [], 'still backing off');
  t.deepEqual(g.tick(1100, totals({ park: 20_000 })).map((a) => a.attach), [true], 're-sample');
  // Still hot during the sample: detached again, back-off doubled.
  t.deepEqual(g.tick(1150, totals({ park: 40_000 })).map((a) => a.attach), [false]);
  t.deepEqual(g.tick(2500, totals({ park: 40_000 })), [], 'back-off is now 2 s');
  t.deepEqual(g.tick(3200, totals({ park: 40_000 })).map((a) => a.attach), [true]);
  // Quiet now: 10 hits in the sample, kept.
  t.deepEqual(g.tick(3300, totals({ park: 40_010 })), []);
  t.deepEqual(g.tick(3400, totals({ park: 40_010 })), []);
  t.true(g.isAttached('park'));
  t.true(g.averagePct(3400) > 0);
});
