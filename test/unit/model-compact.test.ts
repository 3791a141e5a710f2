import test from 'ava';
import { CompactSnapshot, SnapshotEncoder, StackTable } from '../../src/runtime/compact.ts';
import { LiveModel } from '../../src/model/live.ts';
import type { GoroutineRow } from '../../src/model/rows.ts';
import { dumpChunks } from '../../src/model/dump.ts';
import { STACKS, g, service, snapshot } from '../ui/goroutines.ts';

test('compact form: every goroutine comes back field for field, in goid order', (t) => {
  const plain = snapshot(service());
  plain.goroutines[3]!.labels = { request: '42' };
  plain.goroutines[4]!.parentId = null;
  plain.goroutines[5]!.lockedToThread = true;
  plain.goroutines[5]!.framesElided = true;
  plain.goroutines[6]!.startFunction = 'main.worker';
  const c = CompactSnapshot.from(plain);
  const byId = [...plain.goroutines].sort((a, b) => a.id - b.id);
  t.deepEqual(c.goroutines, byId);
  t.deepEqual([c.pid, c.exe, c.goVersion, c.module, c.takenAt, c.durationMs, c.reads, c.unreadable], [plain.pid, plain.exe, plain.goVersion, plain.module, plain.takenAt, plain.durationMs, plain.reads, plain.unreadable]);
  // Shared stacks stay shared (the caches of rows.ts and derive.ts key on them).
  const ids = c.goroutines.map((x) => x.id);
  t.is(c.frames(ids.indexOf(10)), c.frames(ids.indexOf(11)));
});

test('stacks cross once: a later message sends only new ones, and the receiver forgets unused ones', (t) => {
  const enc = new SnapshotEncoder();
  const table = new StackTable();
  const one = snapshot([g({ id: 1, frames: STACKS.chanRecv }), g({ id: 2, frames: STACKS.chanRecv }), g({ id: 3, frames: STACKS.mutex })]);
  const w1 = enc.encode(one);
  t.is(w1.newStacks.length, 2);
  const c1 = CompactSnapshot.decode(w1, table);
  // Same frames arrays again (the symbolizer's shared ones), plus one new stack.
  const two = { ...one, goroutines: [...one.goroutines, { ...g({ id: 4, frames: STACKS.serve }) }] };
  const w2 = enc.encode(two);
  t.deepEqual(w2.newStacks.map(([, f]) => f), [two.goroutines[3]!.frames]);
  const c2 = CompactSnapshot.decode(w2, table);
  t.is(c2.frames(0), c1.frames(0), 'a known stack is the same object on the receiving side');
  t.deepEqual(c2.goroutine(3).frames, STACKS.serve);
  // A message without the mutex stack: it is dropped on both sides and sent again when it returns.
  table.apply(enc.encode({ ...one, goroutines: [one.goroutines[0]!] }));
  const w4 = enc.encode(one);
  t.is(w4.newStacks.length, 1);
  t.deepEqual(CompactSnapshot.decode(w4, table).goroutine(2).frames, STACKS.mutex);
});

test('model rows read the compact cells; the dump gets plain goroutines with full stacks', (t) => {
  const v = new LiveModel().ingest(snapshot(service()), { pid: 1, name: 'app', uptimeSec: 1 }, 0);
  const r = v.rows.find((x) => x.id === 20)!;
  t.is(r.g.waitReason, 'sync.Mutex.Lock');
  t.deepEqual(r.g.frames, STACKS.mutex);
  t.is(r.g.createdBy?.function, 'net/http.(*Server).Serve');
  const c = CompactSnapshot.from(snapshot(service()));
  const text = [...dumpChunks(c, c.goroutines, true)].join('');
  for (const x of service()) t.true(text.includes(`goroutine ${x.id} [`), `goroutine ${x.id} in the dump`);
  t.true(text.includes('sync.(*Mutex).Lock(...)'));
});

test('sortRows: by radix over typed keys, with few or many distinct keys, the same order as a plain sort', async (t) => {
  const { sortRows, SORT_COLUMNS } = await import('../../src/model/derive.ts');
  const { RowList, locationText } = await import('../../src/model/rows.ts');
  const stacks = [STACKS.chanRecv, STACKS.mutex, STACKS.serve, STACKS.none];
  let seed = 7;
  const rnd = (k: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % k;
  for (const distinctMinutes of [3, 10_000]) {
    const gs = Array.from({ length: 2000 }, (_, i) => g({ id: 1 + rnd(1_000_000) * 4 + (i % 4), frames: stacks[rnd(4)], minutes: rnd(distinctMinutes), status: rnd(10) === 0 ? 'runnable' : 'waiting', reason: ['chan receive', 'select', 'sleep'][rnd(3)] }));
    const unique = [...new Map(gs.map((x) => [x.id, x])).values()];
    const rows = new LiveModel().ingest(snapshot(unique), { pid: 1, name: 'app', uptimeSec: 1 }, 0).rows;
    // Not in goid order, as a filter or another sort may hand them over.
    const shuffled = new RowList(rows.table, rows.index.slice().reverse());
    for (const column of SORT_COLUMNS) {
      for (const desc of [false, true]) {
        const key = (r: GoroutineRow): number | string | null =>
          column === 'id' ? r.id : column === 'state' ? r.state : column === 'blocked' ? r.blockedMs : column === 'channel' ? r.channel
            : column === 'location' ? (r.location === null ? null : locationText(r.location)) : (r.creator === null ? null : locationText(r.creator));
        const want = [...shuffled as Iterable<GoroutineRow>].sort((a, b) => {
          const ka = key(a);
          const kb = key(b);
          if (ka === null || kb === null) return ka === kb ? a.id - b.id : ka === null ? 1 : -1;
          const c = typeof ka === 'number' ? ka - (kb as number) : ka < kb ? -1 : ka > kb ? 1 : 0;
          return (desc ? -c : c) || a.id - b.id;
        });
        t.deepEqual(sortRows(shuffled, { column, desc }).map((r) => r.id), want.map((r) => r.id), `${column} ${desc ? 'desc' : 'asc'}, ${distinctMinutes} distinct waits`);
      }
    }
  }
});

test('the worker can collect its garbage on demand', async (t) => {
  const { collectGarbage } = await import('../../src/cli/heap.ts');
  const v8 = await import('node:v8');
  let junk: number[][] | null = Array.from({ length: 2000 }, () => Array.from({ length: 500 }, (_, i) => i * 1.5));
  t.true(junk.length > 0);
  junk = null;
  const before = v8.getHeapStatistics().used_heap_size;
  collectGarbage(0);
  t.true(v8.getHeapStatistics().used_heap_size < before, 'a full collection ran');
});

test('ColumnWriter: rows put out of goid order, some replaced or dropped, come out in goid order with their own fields', (t) => {
  const enc = new SnapshotEncoder();
  const w = enc.writer(6);
  const gs = [g({ id: 50, reason: 'select' }), g({ id: 7, frames: STACKS.mutex, reason: 'sync.Mutex.Lock' }), g({ id: 31 }), g({ id: 12, status: 'runnable' }), g({ id: 99 }), g({ id: 3, reason: 'sleep' })];
  gs.forEach((x, i) => w.put(i, x));
  w.drop(4); // 99 exited between the passes
  w.put(2, g({ id: 31, reason: 'chan send', frames: STACKS.chanSend })); // re-read: parked elsewhere
  w.drop(0);
  w.put(0, g({ id: 50, reason: 'select' })); // dropped, then read again
  const c = CompactSnapshot.decode(w.finish(snapshot([])), new StackTable());
  t.deepEqual(c.goroutines.map((x) => [x.id, x.status, x.waitReason, x.frames[0]?.function ?? null]), [
    [3, 'waiting', 'sleep', 'runtime.gopark'],
    [7, 'waiting', 'sync.Mutex.Lock', 'runtime.gopark'],
    [12, 'runnable', null, 'runtime.gopark'],
    [31, 'waiting', 'chan send', 'runtime.gopark'],
    [50, 'waiting', 'select', 'runtime.gopark'],
  ]);
  t.deepEqual(c.frames(3), STACKS.chanSend);
  t.deepEqual(c.frames(1), STACKS.mutex);
});
