import test from 'ava';
import { compileFilter, filterRows, flatten, groupRows, itemKey, sortRows } from '../../src/model/derive.ts';
import { LiveModel } from '../../src/model/live.ts';
import type { GoroutineRow, RowList } from '../../src/model/rows.ts';
import { g, service, snapshot } from '../ui/goroutines.ts';

const T0 = 1_700_000_000_000;

function rows(): RowList {
  const m = new LiveModel();
  m.ingest(snapshot(service()), { pid: 1, name: 'app', uptimeSec: 1 }, T0);
  // Goroutine 10 parks elsewhere: its blocked time restarts.
  const next = service().map((x) => (x.id === 10 ? g({ id: 10, reason: 'select' }) : x));
  return m.ingest(snapshot(next), { pid: 1, name: 'app', uptimeSec: 2 }, T0 + 5000).rows;
}

const ids = (rs: { map(f: (r: GoroutineRow) => number): number[] }): number[] => rs.map((r) => r.id);

test('filter: case-insensitive regex over state, any frame function and creator; system hidden unless shown', (t) => {
  const rs = rows();
  t.deepEqual(ids(filterRows(rs, compileFilter('MUTEX').re, false)), [20, 21, 22]);
  t.deepEqual(ids(filterRows(rs, compileFilter('^main\\.lookup$').re, false)), [20, 21, 22], 'anchors apply to each function');
  t.deepEqual(ids(filterRows(rs, compileFilter('lookup.main').re, false)), [], 'never across two frames');
  t.deepEqual(ids(filterRows(rs, compileFilter('http\\.\\(\\*Server\\)').re, false)), [20, 21, 22, 30], 'creator');
  t.deepEqual(ids(filterRows(rs, compileFilter('force gc').re, false)), []);
  t.deepEqual(ids(filterRows(rs, compileFilter('force gc').re, true)), [2]);
  t.is(filterRows(rs, null, false).length, rs.length - 1);
  t.is(filterRows(rs, null, true).length, rs.length);
});

test('an invalid filter is an error message, not an exception', (t) => {
  const f = compileFilter('main.(');
  t.is(f.re, null);
  t.regex(f.error!, /Invalid regular expression/);
  t.deepEqual(compileFilter(''), { re: null, error: null });
});

test('sort: blocked longest first by default, ties by goid; missing values last both ways', (t) => {
  const rs = filterRows(rows(), null, false);
  const byBlocked = sortRows(rs, { column: 'blocked', desc: true });
  t.deepEqual(ids(byBlocked).slice(0, 3), [100, 101, 1], 'the runtime\'s 3 minutes, then 5 s seen, oldest goid first');
  t.deepEqual(ids(byBlocked).slice(-2), [31, 32], 'running and runnable have no blocked time');
  const asc = sortRows(rs, { column: 'blocked', desc: false });
  t.is(asc.at(0)!.id, 10, 'restarted wait: 0 s');
  t.deepEqual(ids(asc).slice(-2), [31, 32]);
  t.deepEqual(ids(sortRows(rs, { column: 'id', desc: true })).slice(0, 2), [111, 110]);
  const byState = sortRows(rs, { column: 'state', desc: false });
  t.is(byState.at(0)!.state, 'IO wait');
  t.is(byState.at(-1)!.state, 'sync.Mutex.Lock');
  t.is(sortRows(rs, { column: 'location', desc: false }).at(0)!.location?.function, 'main.handler.func1');
  t.is(sortRows(rs, { column: 'creator', desc: false }).at(0)!.creator?.function, 'main.handler');
  t.not(sortRows(rs, { column: 'id', desc: false }), rs, 'a copy');
});

test('group by creation site, top frame and whole stack: counts, largest first, members keep the sort', (t) => {
  const rs = sortRows(filterRows(rows(), null, false), { column: 'blocked', desc: true });
  const byCreator = groupRows(rs, 'creator');
  t.deepEqual(byCreator.map((x) => [x.label, x.rows.length]), [
    ['main.handler main.go:26', 12],
    ['main.main main.go:60', 7],
    ['net/http.(*Server).Serve server.go:3464', 4],
    ['(no creator)', 1],
  ]);
  t.deepEqual(ids(byCreator[0]!.rows).slice(0, 2), [100, 101]);
  t.is(byCreator[0]!.maxBlockedMs, 180_000);
  const mainGroup = byCreator[1]!;
  t.is(mainGroup.state, 'chan receive');
  t.is(mainGroup.otherStates, 3, 'select, running, runnable');
  const byTop = groupRows(rs, 'top');
  t.deepEqual(byTop.map((x) => x.label).slice(0, 3), ['main.handler.func1 main.go:28', 'main.worker main.go:42', 'main.lookup cache.go:17']);
  t.is(byTop.find((x) => x.label === '(no stack)')?.rows.length, 1);
  const byStack = groupRows(rs, 'stack');
  t.is(byStack.length, 6);
  t.is(byStack.reduce((n, x) => n + x.rows.length, 0), rs.length);
});

test('flatten: groups with their members when expanded; stable item keys', (t) => {
  const rs = sortRows(filterRows(rows(), null, false), { column: 'id', desc: false });
  t.deepEqual([...flatten(rs, null, new Set())].map(itemKey).slice(0, 3), ['g1', 'g10', 'g11']);
  const groups = groupRows(rs, 'creator');
  const closed = flatten(rs, groups, new Set());
  t.is(closed.length, groups.length);
  const open = flatten(rs, groups, new Set([groups[1]!.key]));
  t.is(open.length, groups.length + groups[1]!.rows.length);
  t.deepEqual(open.at(1), { kind: 'group', group: groups[1]!, expanded: true });
  t.deepEqual(open.at(2), { kind: 'goroutine', row: groups[1]!.rows.at(0)!, member: true });
  t.is(itemKey(open.at(0)!), `group:${groups[0]!.key}`);
});
