import test from 'ava';
import { cleanup, render } from 'ink-testing-library';
import { filterRows, flatten, groupRows, sortRows } from '../../src/model/derive.ts';
import { LiveModel } from '../../src/model/live.ts';
import { tableColumns } from '../../ui/columns.ts';
import { GoroutineTable, fitLocation } from '../../ui/GoroutineTable.tsx';
import { Sparkline, sparkline } from '../../ui/Sparkline.tsx';
import { blockedText, cell, cellEnd, countIn, duration } from '../../ui/text.ts';
import { STACKS, g, snapshot } from './goroutines.ts';
import { serviceView } from './render.ts';

test.afterEach.always(cleanup);

const sort = { column: 'blocked', desc: true } as const;

function bigRows(n: number) {
  const gs = Array.from({ length: n }, (_, i) => g({ id: i + 1, frames: i % 3 ? STACKS.chanRecv : STACKS.mutex, reason: i % 3 ? 'chan receive' : 'sync.Mutex.Lock' }));
  const m = new LiveModel();
  return m.ingest(snapshot(gs), { pid: 1, name: 'big', uptimeSec: 1 }, 0).rows;
}

test('virtualized: 100k goroutines render as the visible page only, from `top`', (t) => {
  const items = flatten(sortRows(bigRows(100_000), { column: 'id', desc: false }), null, new Set());
  const t0 = performance.now();
  const { lastFrame } = render(<GoroutineTable items={items} cursor={50_003} top={50_000} height={10} width={100} showChannel={false} sort={sort} color={false} empty="" />);
  const ms = performance.now() - t0;
  const lines = lastFrame()!.split('\n');
  t.is(lines.length, 11);
  t.regex(lines[0]!, /^\s+ID STATE\s+BLOCKED↓ LOCATION\s+CREATED BY\s*$/);
  t.deepEqual(lines.slice(1).map((l) => Number(l.trim().split(' ')[0])), Array.from({ length: 10 }, (_, i) => 50_001 + i));
  t.regex(lines[1]!, /^\s+50001 chan receive\s+~0s main\.worker main\.go:42\s+main\.main main\.go:60\s*$/);
  t.log(`first render of a 100k-item table: ${ms.toFixed(1)} ms`);
});

test('a group of 100k goroutines shows its size whole in the COUNT column', (t) => {
  const rows = sortRows(bigRows(100_000), { column: 'id', desc: false });
  const groups = groupRows(rows, 'top');
  const { lastFrame } = render(<GoroutineTable items={flatten(rows, groups, new Set())} cursor={0} top={0} height={5} width={100} showChannel={false} sort={sort} color={false} empty="" groupTitle="top frame" />);
  const lines = lastFrame()!.split('\n');
  t.regex(lines[1]!, /^\s*▸ ×66k chan receive\s/, lastFrame());
  t.regex(lines[2]!, /^\s*▸ ×33k sync\.Mutex\.Lock\s/);
  t.deepEqual([countIn(999, 5), countIn(12_345, 6), countIn(100_000, 5), countIn(12_345_678, 5)], ['999', '12,345', '100k', '12M']);
});

test('columns: 80 columns fit, the rest shared by location and creator; CHANNEL only with probes', (t) => {
  for (const w of [80, 100, 120, 200]) {
    for (const ch of [false, true]) {
      const cols = tableColumns(w, ch);
      t.is(cols.reduce((n, c) => n + c.width, 0) + cols.length - 1, w, `width ${w}, channel ${ch}`);
      t.is(cols.some((c) => c.id === 'channel'), ch);
    }
  }
  t.deepEqual(tableColumns(80, false).map((c) => c.id), ['id', 'state', 'blocked', 'location', 'creator']);
});

test('location cells keep file:line: the package path goes first, then the start of the name', (t) => {
  t.is(fitLocation('main.worker', '/src/app/main.go', 42, 24), 'main.worker main.go:42  ');
  t.is(fitLocation('net/http.(*conn).serve', '/go/src/net/http/server.go', 2103, 30), '….(*conn).serve server.go:2103');
  t.is(fitLocation('net/http.(*conn).serve', '/go/src/net/http/server.go', 2103, 34), 'http.(*conn).serve server.go:2103 ');
  t.is(fitLocation('main.f', '/a/very/long/file/name_that_is_long.go', 1, 8), 'main.f …');
});

test('group rows: count, main state with how many others, longest blocked, label', (t) => {
  const rows = filterRows(serviceView().rows, null, false);
  const groups = groupRows(sortRows(rows, sort), 'creator');
  const items = flatten(rows, groups, new Set([groups[0]!.key]));
  const { lastFrame } = render(<GoroutineTable items={items} cursor={0} top={0} height={20} width={100} showChannel={false} sort={sort} color={false} empty="" />);
  const lines = lastFrame()!.split('\n');
  t.regex(lines[1]!, /^\s+▾ ×12 chan send\s+~3m00s main\.handler main\.go:26\s*$/);
  t.regex(lines[2]!, /^\s+100 chan send/, 'members indented under their group');
  t.regex(lines[14]!, /^\s+▸ ×7 chan receive \+2\s+~5s main\.main main\.go:60/);
});

test('an empty list says why', (t) => {
  const { lastFrame } = render(<GoroutineTable items={[]} cursor={0} top={0} height={5} width={80} showChannel={false} sort={sort} color={false} empty="no goroutine matches the filter" />);
  t.is(lastFrame()!.split('\n')[1], 'no goroutine matches the filter');
});

test('sparkline: the last values scaled between their min and max, over at least a tenth of the max', (t) => {
  t.is(sparkline([1, 2, 3, 4, 5, 6, 7, 8], 8), '▁▂▃▄▅▆▇█');
  t.is(sparkline([43, 44, 43], 10), '▆█▆', 'a wobble of one stays a wobble');
  t.is(sparkline([5, 5, 5], 10), '███');
  t.is(sparkline([0, 100, 0, 50], 2), '▁█');
  t.is(sparkline([], 5), '');
  const { lastFrame } = render(<Sparkline values={[0, 10]} width={5} color={false} />);
  t.is(lastFrame(), '▁█');
});

test('text: cells cut with an ellipsis, durations, exact and approximate blocked times', (t) => {
  t.is(cell('abcdef', 4), 'abc…');
  t.is(cell('ab', 4, true), '  ab');
  t.is(cellEnd('/a/b/main.go:42', 10), '…ain.go:42');
  t.is(duration(350, true), '350ms');
  t.is(duration(4_200, true), '4.2s');
  t.is(duration(42_000, false), '42s');
  t.is(duration(245_000, false), '4m05s');
  t.is(duration(3 * 3600_000 + 120_000, false), '3h02m');
  t.is(duration(50 * 3600_000, false), '2d02h');
  t.is(blockedText(null, false), '');
  t.is(blockedText(1_500, true), '1.5s');
  t.is(blockedText(65_000, false), '~1m05s');
});
