// LeakTracker on synthetic snapshot series: what makes a creation site a
// suspect (sustained growth, nobody leaves, channels do not move) and what
// does not (a flat pool, goroutines that come and go, a moving buffer).
import test from 'ava';
import { LeakTracker, fmtDuration, leakSuspectsToJSON } from '../../src/analysis/index.ts';
import type { Channel, GoroutineWait, WaitGraph } from '../../src/analysis/index.ts';
import type { Goroutine, Snapshot } from '../../src/runtime/goroutine.ts';

interface G { id: number; site: string; fn: string; reason: string; chan: number }

function goroutine(g: G): Goroutine {
  return {
    id: g.id, status: 'waiting', rawStatus: 4, waitReason: g.reason, waitMinutes: null, lockedToThread: false, system: false,
    frames: [{ function: g.fn, file: '/src/main.go', line: 10, inlined: false, offset: null }], stackError: null, framesElided: false,
    createdBy: { function: g.site, file: '/src/main.go', line: 5, offset: null }, parentId: 1, labels: {}, startFunction: g.fn, gAddr: 0xc000000000 + g.id * 512,
  };
}

function snapshot(t: number, gs: G[], chans: Partial<Channel>[] = []): { snap: Snapshot; waits: WaitGraph } {
  const byGoroutine = new Map<number, GoroutineWait>(gs.map((g) => [g.id, {
    goid: g.id, reason: g.reason === 'chan send' ? 'chan-send' : 'chan-receive', waitReason: g.reason,
    targets: [{ kind: 'channel', addr: g.chan, op: g.reason === 'chan send' ? 'send' : 'receive' }], blockedMs: null, error: null,
  }]));
  const channels: Channel[] = chans.map((c) => ({ addr: 0, elemType: 'int', elemSize: 8, len: 0, cap: 0, closed: false, sendx: 0, recvx: 0, senders: [], receivers: [], truncated: false, ...c }));
  const takenAt = new Date(1_700_000_000_000 + t * 1000);
  return {
    snap: { pid: 1, exe: 'x', goVersion: 'go1.26.0', module: null, takenAt, durationMs: 1, reads: 1, unreadable: 0, goroutines: gs.map(goroutine) },
    waits: { pid: 1, takenAt, channels, locks: [], byGoroutine, semaSource: 'g.waiting' },
  };
}

const pool = (n: number, first = 1000): G[] =>
  Array.from({ length: n }, (_, i) => ({ id: first + i, site: 'main.startPool', fn: 'main.worker', reason: 'chan receive', chan: 0xc0000f0000 }));
const leaked = (n: number): G[] =>
  Array.from({ length: n }, (_, i) => ({ id: 5000 + i, site: 'main.handler', fn: 'main.handler.func2', reason: 'chan send', chan: 0xc000100000 + i * 0x70 }));

test('a site that grows with every snapshot and never moves is the top suspect; a flat pool is not', (t) => {
  const tr = new LeakTracker();
  for (let s = 0; s <= 10; s++) {
    const { snap, waits } = snapshot(s, [...pool(40), ...leaked(3 + s * 40)]);
    tr.add(snap, waits);
  }
  const sus = tr.suspects();
  t.is(sus.length, 1);
  const top = sus[0]!;
  t.like(top, { site: { function: 'main.handler', file: '/src/main.go', line: 5 }, function: 'main.handler.func2', blocked: 403, growth: 400,
    waitReason: 'chan send', departed: 0, channels: 403, channel: null, stuck: null, snapshots: 11, windowSeconds: 10 });
  t.is(Math.round(top.perSecond), 40);
  t.is(top.oldestSeconds, 10);
  t.is(top.summary, 'main.handler.func2: 403 blocked on chan send, +40/s, oldest 10s');
  t.regex(top.evidence[0]!, /^blocked goroutines created at main\.handler \/src\/main\.go:5: 3 → 403 over 10 s \(11 snapshots/);
  t.regex(top.evidence[2]!, /403 distinct channels/);
  t.is(leakSuspectsToJSON(sus)[0]!.perSecond, 40);
  t.is(tr.blockedSince(5000), 1_700_000_000_000, 'seen blocked since the first snapshot');
  t.is(tr.blockedSince(5402), 1_700_000_010_000);
  t.is(tr.blockedSince(99), undefined);
});

test('not before three snapshots two seconds apart', (t) => {
  const tr = new LeakTracker();
  for (let s = 0; s < 2; s++) tr.add(snapshot(s, leaked(10 + s * 50)).snap);
  t.deepEqual(tr.suspects(), []);
  tr.add(snapshot(2, leaked(110)).snap);
  t.is(tr.suspects().length, 1, 'works from snapshots alone, without wait graphs');
});

test('goroutines that leave their wait are progress: a growing site whose members come and go is not a suspect', (t) => {
  const tr = new LeakTracker();
  for (let s = 0; s <= 6; s++) {
    // The set grows by 10 a second, but the oldest 8 of the previous snapshot are gone each time.
    const gs = Array.from({ length: 20 + s * 2 }, (_, i) => ({ id: s * 8 + i, site: 'main.serve', fn: 'main.conn', reason: 'chan receive', chan: 0xc000200000 + (s * 8 + i) * 0x70 }));
    tr.add(...Object.values(snapshot(s, gs)) as [Snapshot, WaitGraph]);
  }
  t.deepEqual(tr.suspects(), []);
});

test('senders piling up on a buffered channel that still moves are a backlog, not a leak', (t) => {
  const tr = new LeakTracker();
  const addr = 0xc000300000;
  for (let s = 0; s <= 6; s++) {
    const gs = Array.from({ length: 10 + s * 10 }, (_, i) => ({ id: i + 1, site: 'main.produce', fn: 'main.producer', reason: 'chan send', chan: addr }));
    tr.add(...Object.values(snapshot(s, gs, [{ addr, cap: 8, len: 8, sendx: s % 8, recvx: s % 8 }])) as [Snapshot, WaitGraph]);
  }
  t.deepEqual(tr.suspects(), []);
  // The same with a buffer that stays put is a suspect, with the one channel named.
  const still = new LeakTracker();
  for (let s = 0; s <= 6; s++) {
    const gs = Array.from({ length: 10 + s * 10 }, (_, i) => ({ id: i + 1, site: 'main.produce', fn: 'main.producer', reason: 'chan send', chan: addr }));
    still.add(...Object.values(snapshot(s, gs, [{ addr, cap: 8, len: 8, sendx: 3, recvx: 3 }])) as [Snapshot, WaitGraph]);
  }
  t.like(still.suspects()[0], { channels: 1, channel: '0xc000300000', blocked: 70 });
});

test('a count that rises and falls is not sustained growth', (t) => {
  const tr = new LeakTracker();
  const counts = [10, 30, 12, 35, 15, 40, 20];
  counts.forEach((n, s) => tr.add(snapshot(s, leaked(n)).snap));
  t.deepEqual(tr.suspects(), []);
});

test('proven-stuck goroutines are named in the evidence and raise the score', (t) => {
  const plain = new LeakTracker();
  const proven = new LeakTracker();
  for (let s = 0; s <= 4; s++) {
    const { snap, waits } = snapshot(s, leaked(10 + s * 10));
    plain.add(snap, waits);
    proven.add(snap, waits, new Set(snap.goroutines.map((g) => g.id)));
  }
  const p = proven.suspects()[0]!;
  t.is(p.stuck, 50);
  t.true(p.evidence.includes('50 of 50 proven never to wake (no running goroutine or global reaches what they wait on)'));
  t.true(p.score > plain.suspects()[0]!.score);
});

test('the window forgets old snapshots', (t) => {
  const tr = new LeakTracker({ window: 5 });
  for (let s = 0; s <= 20; s++) tr.add(snapshot(s, leaked(s < 10 ? 10 + s * 10 : 100)).snap);
  t.deepEqual(tr.suspects(), [], 'flat for the last 5 snapshots');
});

test('fmtDuration', (t) => {
  t.is(fmtDuration(0), '0s');
  t.is(fmtDuration(59.9), '59s');
  t.is(fmtDuration(245), '4m05s');
  t.is(fmtDuration(2 * 3600 + 13 * 60 + 5), '2h13m');
});
