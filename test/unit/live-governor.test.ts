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

test('a detached probe is re-sampled no sooner than half the budget pays for the sample, and kept when it fits', (t) => {
  const g = new Governor(['park'], 0, { budgetPct: 1, minBackoffMs: 1000, sampleMs: 100, tickMs: 50 });
  // 400k hits/s × 2.5 µs = a whole CPU: detached.
  t.deepEqual(g.tick(50, totals({ park: 20_000 })).map((a) => a.attach), [false]);
  // A sample costs that CPU for 100 ms + a tick + 230 ms of detach latency =
  // 380 ms, plus 20 ms for the attach/detach cycle: 80 s of half a 1% budget.
  // The 1 s back-off alone would allow it much sooner.
  t.deepEqual(g.tick(1100, totals({ park: 20_000 })), [], 'back-off passed, budget not');
  t.deepEqual(g.tick(80_000, totals({ park: 20_000 })), []);
  t.deepEqual(g.tick(80_100, totals({ park: 20_000 })).map((a) => a.attach), [true], 're-sample');
  // Still hot during the sample: detached again.
  t.deepEqual(g.tick(80_150, totals({ park: 40_000 })).map((a) => a.attach), [false]);
  t.deepEqual(g.tick(160_000, totals({ park: 40_000 })), [], 'the next sample is again 80 s of budget away');
  t.deepEqual(g.tick(160_200, totals({ park: 40_000 })).map((a) => a.attach), [true]);
  // Quiet now: 10 hits in the sample, kept.
  t.deepEqual(g.tick(160_300, totals({ park: 40_010 })), []);
  t.deepEqual(g.tick(160_400, totals({ park: 40_010 })), []);
  t.true(g.isAttached('park'));
  // The books count the detach latency's and the cycles' estimated cost too.
  t.true(g.averagePct(160_400) > ((2 * 0.23 + 2 * 0.02 + 0.1) / 160.4) * 100);
});

test('a sample over budget is detached at its first tick although the bucket refilled meanwhile, and backs off', (t) => {
  const g = new Governor(['exit'], 0, { budgetPct: 1, minBackoffMs: 2000, sampleMs: 100, tickMs: 50 });
  // 12k hits/s × 2.5 µs = 3% of a CPU: detached once the 10 ms bucket is empty.
  let hits = 0;
  let now = 0;
  let first: number | undefined;
  while (first === undefined && now < 5000) {
    now += 50;
    hits += 600;
    if (g.tick(now, totals({ exit: hits })).some((a) => !a.attach)) first = now;
  }
  t.truthy(first, 'detached');
  // Sampled after max(2 s, (3% × 380 ms + 20 ms) / 0.5%) = 6.28 s; detached at its first tick, still 3%.
  t.deepEqual(g.tick(first! + 6250, totals({ exit: hits })), []);
  const sampledAt = first! + 6300;
  t.deepEqual(g.tick(sampledAt, totals({ exit: hits })).map((a) => a.attach), [true]);
  hits += 600;
  t.deepEqual(g.tick(sampledAt + 50, totals({ exit: hits })).map((a) => a.attach), [false], 'not kept on a full bucket');
  // Spaced again by the sample's cost (more than the doubled 4 s back-off).
  for (let at = sampledAt + 100; at < sampledAt + 6300; at += 50) t.deepEqual(g.tick(at, totals({ exit: hits })), []);
  t.deepEqual(g.tick(sampledAt + 6400, totals({ exit: hits })).map((a) => a.attach), [true]);
});

test('a hot probe is not re-sampled while the target is as busy as when it was detached, until the safety net', (t) => {
  const g = new Governor(['exit'], 0, { budgetPct: 1, minBackoffMs: 2000, maxBackoffMs: 32_000, sampleMs: 100, tickMs: 50 });
  // 3% of a CPU: detached; its sample would be due after 6.28 s. The load
  // after the detach (0.9 CPUs, measured from 2.23 s on) is the reference.
  let hits = 0;
  let now = 0;
  let detachedAt: number | undefined;
  while (detachedAt === undefined && now < 5000) {
    now += 50;
    hits += 600;
    if (g.tick(now, totals({ exit: hits }), 0.9).some((a) => !a.attach)) detachedAt = now;
  }
  t.truthy(detachedAt, 'detached');
  for (now = detachedAt!; now < detachedAt! + 20_000; now += 50) t.deepEqual(g.tick(now, totals({ exit: hits }), 0.9), [], 'same load: no sample');
  // Load fell to a third: 1% predicted, fits: sampled.
  t.deepEqual(g.tick(now, totals({ exit: hits }), 0.3).map((a) => a.attach), [true]);
  hits += 600;
  t.deepEqual(g.tick(now + 50, totals({ exit: hits }), 0.3).map((a) => a.attach), [false], 'it did not fall after all');
  // At the same load again only the 32 s safety net samples it.
  const again = now + 50;
  for (now = again; now < again + 31_900; now += 50) t.deepEqual(g.tick(now, totals({ exit: hits }), 0.3), []);
  t.deepEqual(g.tick(again + 32_000, totals({ exit: hits }), 0.3).map((a) => a.attach), [true]);
});
