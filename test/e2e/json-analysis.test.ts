// gtop --once --json carries the wait analysis: channels, locks and proven
// deadlocks of a real program, named by the addresses the program prints.
import test from 'ava';
import { buildFixture } from '../helpers/build.ts';
import { runGtop } from '../helpers/gtop.ts';
import { httpGet, startFixture } from '../helpers/process.ts';
import { toolchainByMinor } from '../helpers/toolchains.ts';

interface Out {
  goroutines: { id: number; frames: { function: string }[] }[];
  channels: { address: string; elemType: string | null; len: number; cap: number; senders: { goroutine: number }[] }[];
  locks: { address: string; kind: string; waiters: { goroutine: number }[] }[];
  deadlocks: { goroutines: number[]; evidence: string[] }[];
  deadlocksChecked: boolean;
}

for (const minor of [19, 26]) {
  test(`--once --json lists channels, locks and deadlocks: go1.${minor}`, async (t) => {
    const fx = await startFixture(await buildFixture('waits', toolchainByMinor(minor), { stripped: true, pie: true }), [], { t });
    const objects = JSON.parse(await httpGet(`${fx.url}/objects`)) as Record<string, string>;
    const res = await runGtop(['-p', String(fx.pid), '--once', '--json']);
    t.is(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as Out;
    const jobs = out.channels.find((c) => c.address === objects['jobs']);
    t.like(jobs, { elemType: 'main.job', len: 4, cap: 4 });
    t.is(jobs?.senders.length, 6);
    const mutex = out.locks.find((l) => l.address === objects['mutex']);
    t.like(mutex, { kind: 'mutex' });
    t.is(mutex?.waiters.length, 3);
    t.true(out.deadlocksChecked);
    // The program's two-goroutine channel deadlock is proven; its rescued look-alike is not.
    // (The lock-order inversion and the proof's details are covered by analysis.test.ts.)
    const inCycle = (fn: string): boolean => out.deadlocks.some((d) => d.goroutines.some((id) => out.goroutines.find((g) => g.id === id)?.frames.some((f) => f.function.startsWith(fn))));
    t.true(inCycle('main.deadFirst') && inCycle('main.deadSecond'), JSON.stringify(out.deadlocks.map((d) => d.goroutines)));
    t.false(inCycle('main.rescued'), 'the pair a sleeper will rescue is not flagged');
  });
}

test('--once --json --duration ranks the leaking handler first, not the busy pools', async (t) => {
  const fx = await startFixture(await buildFixture('leaky', toolchainByMinor(26), { stripped: false, pie: false }), [], { t });
  const res = await runGtop(['-p', String(fx.pid), '--once', '--json', '--duration', '10s'], { timeoutMs: 120_000 });
  t.is(res.code, 0, res.stderr);
  const out = JSON.parse(res.stdout) as { leakSuspects: { function: string; summary: string }[] };
  t.true(out.leakSuspects.length > 0, 'a suspect after 10 s of a leak');
  t.regex(out.leakSuspects[0]!.function, /^main\.handleWork\.func\d+$/, out.leakSuspects[0]!.summary);
  t.false(out.leakSuspects.some((s) => /pool|worker/i.test(s.function)), out.leakSuspects.map((s) => s.summary).join('\n'));
  t.log(out.leakSuspects[0]!.summary);
});
