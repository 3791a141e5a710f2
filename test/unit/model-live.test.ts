import test from 'ava';
import { LiveModel } from '../../src/model/live.ts';
import { NO_PARKS, type ParkRecord, type ProbeFeed, ProbeFeedFromData, parkColumns } from '../../src/model/probe.ts';
import { isUserFunction, packageOf, topUserFrame } from '../../src/model/rows.ts';
import { STACKS, frame, g, service, snapshot } from '../ui/goroutines.ts';

const proc = { pid: 4242, name: 'app', uptimeSec: 100 };
const T0 = 1_700_000_000_000;

test('packages and user code: main, the main module, domains; not the standard library', (t) => {
  t.is(packageOf('net/http.(*conn).serve'), 'net/http');
  t.is(packageOf('main.main.func1'), 'main');
  t.is(packageOf('github.com/x/y.(*T).M'), 'github.com/x/y');
  t.true(isUserFunction('main.worker', null));
  t.true(isUserFunction('github.com/x/y.F', null));
  t.true(isUserFunction('myservice/internal/db.Query', 'myservice'));
  t.false(isUserFunction('myservice/internal/db.Query', null));
  t.false(isUserFunction('sync.(*Mutex).Lock', 'myservice'));
  t.false(isUserFunction('internal/poll.runtime_pollWait', null));
});

test('location: innermost user frame, else the outermost frame', (t) => {
  t.is(topUserFrame(STACKS.chanRecv, null)?.function, 'main.worker');
  t.is(topUserFrame(STACKS.mutex, null)?.function, 'main.lookup');
  t.is(topUserFrame(STACKS.serve, null)?.function, 'net/http.(*conn).serve');
  t.is(topUserFrame([], null), null);
});

test('rows: state, location, creator; blocked only for blocked statuses', (t) => {
  const v = new LiveModel().ingest(snapshot(service()), proc, T0);
  const byId = new Map(v.rows.map((r) => [r.id, r]));
  t.is(byId.get(20)!.state, 'sync.Mutex.Lock');
  t.deepEqual(byId.get(20)!.location, frame('main.lookup', '/src/app/cache.go', 17));
  t.is(byId.get(100)!.creator?.function, 'main.handler');
  t.is(byId.get(31)!.state, 'running');
  t.is(byId.get(31)!.blockedMs, null);
  t.is(byId.get(32)!.blockedMs, null);
  t.is(byId.get(10)!.blockedMs, 0);
  t.false(byId.get(10)!.blockedExact);
  // The runtime's "3 minutes" wins over gtop's own 0 s.
  t.is(byId.get(100)!.blockedMs, 180_000);
});

test('totals: system goroutines counted apart; statuses most first; history grows', (t) => {
  const m = new LiveModel();
  m.ingest(snapshot(service()), proc, T0);
  const v = m.ingest(snapshot(service().slice(0, 10)), proc, T0 + 1000);
  const first = service();
  t.is(m.current, v);
  t.is(v.total, 10);
  t.is(v.system, 0);
  t.deepEqual(v.history, [first.length - 1, 10]);
  const v0 = new LiveModel().ingest(snapshot(first), proc, T0);
  t.is(v0.system, 1);
  t.deepEqual(v0.byStatus, [{ status: 'waiting', count: 22 }, { status: 'runnable', count: 1 }, { status: 'running', count: 1 }]);
});

test('blocked time grows while the wait is unchanged and restarts when it changes', (t) => {
  const m = new LiveModel();
  m.ingest(snapshot([g({ id: 5 }), g({ id: 6 }), g({ id: 7 })]), proc, T0);
  m.ingest(snapshot([g({ id: 5 }), g({ id: 6 }), g({ id: 7 })]), proc, T0 + 4000);
  const v = m.ingest(snapshot([g({ id: 5 }), g({ id: 6, reason: 'select' }), g({ id: 7, frames: STACKS.chanSend })]), proc, T0 + 9000);
  const ms = Object.fromEntries(v.rows.map((r) => [r.id, r.blockedMs]));
  t.deepEqual(ms, { 5: 9000, 6: 0, 7: 0 });
});

test('created and exited per second from the goid sets of two snapshots', (t) => {
  const m = new LiveModel();
  const v1 = m.ingest(snapshot([1, 2, 3, 4].map((id) => g({ id }))), proc, T0);
  t.is(v1.createdPerSec, null);
  const v2 = m.ingest(snapshot([1, 2, 5, 6, 7].map((id) => g({ id }))), proc, T0 + 2000);
  t.is(v2.createdPerSec, 1.5);
  t.is(v2.exitedPerSec, 1);
  t.is(v2.probes, null);
});

class FakeFeed implements ProbeFeed {
  readonly mode = 'uprobes: park ready create exit';
  now = 50_000_000_000;
  updates = 0;
  parks = new Map<number, ParkRecord>();
  totals = { created: 100, exited: 40, drops: 0 };
  update(): void {
    this.updates++;
  }
  nowNs(): number {
    return this.now;
  }
  park(goid: number): ParkRecord | undefined {
    return this.parks.get(goid);
  }
  counters() {
    return { ...this.totals };
  }
  overhead(): number | null {
    return 0.003;
  }
  channel(): undefined {
    return undefined;
  }
}

test('a probe feed gives exact blocked times, channels, park stacks and counter rates', (t) => {
  const feed = new FakeFeed();
  const m = new LiveModel(feed);
  const parkStack = [frame('main.worker', '/src/app/main.go', 41)];
  feed.parks.set(10, { parkedAtNs: feed.now - 1_500_000_000, reason: 'chan receive', channel: 0xc000123000, parkStack });
  // A record for another wait than the snapshot's is stale: the snapshot wins.
  feed.parks.set(11, { parkedAtNs: feed.now - 9e9, reason: 'select' });
  m.ingest(snapshot([g({ id: 10 }), g({ id: 11 })]), proc, T0);
  feed.totals = { created: 130, exited: 60, drops: 7 };
  feed.now += 2e9;
  const v = m.ingest(snapshot([g({ id: 10 }), g({ id: 11 })]), proc, T0 + 2000);
  t.is(feed.updates, 2);
  const [a, b] = v.rows;
  t.true(a!.blockedExact);
  t.is(a!.blockedMs, 3500);
  t.is(a!.channel, 0xc000123000);
  t.is(v.parkStack(10), parkStack);
  t.false(b!.blockedExact);
  t.is(b!.blockedMs, 2000);
  t.is(v.parkStack(11), null);
  t.is(v.createdPerSec, 15);
  t.is(v.exitedPerSec, 10);
  t.deepEqual(v.probes, { mode: feed.mode, overhead: 0.003, drops: 7 });
});

test('a failed refresh keeps the last rows and says why', (t) => {
  const m = new LiveModel();
  t.is(m.fail('nothing yet', false), undefined);
  const v = m.ingest(snapshot(service()), proc, T0);
  const f = m.fail('process 4242 exited while gtop was reading it', true)!;
  t.is(f.rows, v.rows);
  t.true(f.gone);
  t.regex(f.error!, /exited/);
  t.true(f.generation > v.generation);
});

test('probes attached later: the feed answers from the next ingest, rates restart', (t) => {
  const m = new LiveModel();
  m.ingest(snapshot([g({ id: 10 })]), proc, T0);
  const data = { mode: 'uprobes light: park ready exit', nowNs: 9e9, parks: parkColumns([[10, { parkedAtNs: 8e9, reason: 'chan receive', channel: 0xc0001 }]]), counters: { created: 3, exited: 1, drops: 0 }, overhead: 0.001, channels: [] };
  const feed = new ProbeFeedFromData(data);
  m.setFeed(feed);
  const v1 = m.ingest(snapshot([g({ id: 10 })]), proc, T0 + 1000);
  t.is(v1.createdPerSec, null, 'goid-set rates and probe counters do not mix');
  t.deepEqual([v1.rows.at(0)!.blockedMs, v1.rows.at(0)!.blockedExact, v1.rows.at(0)!.channel], [1000, true, 0xc0001]);
  feed.set({ ...data, nowNs: 10e9, parks: NO_PARKS, counters: { created: 5, exited: 4, drops: 2 } });
  const v2 = m.ingest(snapshot([g({ id: 10 })]), proc, T0 + 2000);
  t.deepEqual([v2.createdPerSec, v2.exitedPerSec], [2, 3]);
  t.false(v2.rows.at(0)!.blockedExact, 'no park record any more: approximate again');
  t.deepEqual(v2.probes, { mode: data.mode, overhead: 0.001, drops: 2 });
});

test('parks from the worker in columns: merged with the snapshot by goid; a park for another reason, or of a goroutine not in it, is not used', (t) => {
  const m = new LiveModel();
  const stack = [frame('main.worker', '/src/app/main.go', 42)];
  const parks = parkColumns([
    [20, { parkedAtNs: 7e9, reason: 'chan send', channel: 0xc0002, parkStack: stack }],
    [5, { parkedAtNs: 1e9, reason: 'select' }],
    [12, { parkedAtNs: 2e9, reason: 'chan receive' }],
    [10, { parkedAtNs: 8e9, reason: 'chan receive' }],
  ]);
  t.deepEqual([...parks.goid], [5, 10, 12, 20], 'sorted by goid');
  m.setFeed(new ProbeFeedFromData({ mode: 'uprobes', nowNs: 9e9, parks, counters: { created: 0, exited: 0, drops: 0 }, overhead: null, channels: [] }));
  const v = m.ingest(snapshot([g({ id: 5, reason: 'chan receive' }), g({ id: 10 }), g({ id: 11 }), g({ id: 20, reason: 'chan send' })]), proc, T0);
  const byId = new Map(v.rows.map((r) => [r.id, [r.blockedMs, r.blockedExact, r.channel]]));
  t.deepEqual(byId.get(5), [0, false, null], 'parked since for another reason: an older park');
  t.deepEqual(byId.get(10), [1000, true, null]);
  t.deepEqual(byId.get(11), [0, false, null]);
  t.deepEqual(byId.get(20), [2000, true, 0xc0002]);
  t.deepEqual(v.parkStack(20), stack);
  t.is(v.parkStack(10), null);
});
