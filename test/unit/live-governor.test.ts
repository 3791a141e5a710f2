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

test('a detached probe is re-sampled no sooner than the budget pays for the sample, and kept when it fits', (t) => {
  const g = new Governor(['park'], 0, { budgetPct: 1, minBackoffMs: 1000, sampleMs: 100 });
  // 400k hits/s × 2.5 µs = a whole CPU: detached.
  t.deepEqual(g.tick(50, totals({ park: 20_000 })).map((a) => a.attach), [false]);
  // A sample costs that CPU for 100 ms plus 180 ms of detach latency = 280 ms:
  // 28 s of a 1% budget. The 1 s back-off alone would allow it much sooner.
  t.deepEqual(g.tick(1100, totals({ park: 20_000 })), [], 'back-off passed, budget not');
  t.deepEqual(g.tick(28_000, totals({ park: 20_000 })), []);
  t.deepEqual(g.tick(28_100, totals({ park: 20_000 })).map((a) => a.attach), [true], 're-sample');
  // Still hot during the sample: detached again.
  t.deepEqual(g.tick(28_150, totals({ park: 40_000 })).map((a) => a.attach), [false]);
  t.deepEqual(g.tick(56_000, totals({ park: 40_000 })), [], 'the next sample is again 28 s of budget away');
  t.deepEqual(g.tick(56_200, totals({ park: 40_000 })).map((a) => a.attach), [true]);
  // Quiet now: 10 hits in the sample, kept.
  t.deepEqual(g.tick(56_300, totals({ park: 40_010 })), []);
  t.deepEqual(g.tick(56_400, totals({ park: 40_010 })), []);
  t.true(g.isAttached('park'));
  t.true(g.averagePct(56_400) > 0);
});
