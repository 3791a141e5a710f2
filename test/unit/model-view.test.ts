import test from 'ava';
import { type Item, filterRows, flatten, groupRows } from '../../src/model/derive.ts';
import { F6, NO_KEY, type KeyPress, keyToCommand } from '../../src/model/keys.ts';
import { LiveModel } from '../../src/model/live.ts';
import { type Action, type ViewContext, type ViewState, initialView, reduce, resolveCursor, scrollTop } from '../../src/model/view.ts';
import { service, snapshot } from '../ui/goroutines.ts';

const rows = filterRows(new LiveModel().ingest(snapshot(service()), { pid: 1, name: 'app', uptimeSec: 1 }, 0).rows, null, false);
const items: Item[] = [...flatten(rows, null, new Set())];
const ctx = (over: Partial<ViewContext> = {}): ViewContext => ({ items, columns: ['id', 'state', 'blocked', 'location', 'creator'], pageSize: 5, stackLines: 30, stackPage: 10, ...over });
const run = (actions: Action[], c = ctx(), s: ViewState = initialView): ViewState => actions.reduce((st, a) => reduce(st, a, c), s);
const key = (k: Partial<KeyPress>): KeyPress => ({ ...NO_KEY, ...k });

test('moving: several keys before a render add up; the selection follows its goroutine', (t) => {
  const s = run([{ type: 'move', by: 1 }, { type: 'move', by: 1 }, { type: 'move', by: 1 }]);
  t.is(s.cursor, 3);
  t.is(s.selected, `g${rows.at(3)!.id}`);
  // The list changes under the cursor: it stays on the same goroutine.
  const reordered = [...items].reverse();
  t.is(resolveCursor(s, reordered), items.length - 4);
  // Gone: the same index, clamped.
  t.is(resolveCursor(s, items.slice(0, 2)), 1);
});

test('page, home, end, and the viewport keeps the cursor visible', (t) => {
  t.is(run([{ type: 'page', by: 1 }]).cursor, 4);
  t.is(run([{ type: 'end' }]).cursor, items.length - 1);
  t.is(run([{ type: 'end' }]).top, items.length - 5);
  t.is(run([{ type: 'end' }, { type: 'home' }]).cursor, 0);
  t.is(run([{ type: 'move', by: -3 }]).cursor, 0);
  t.is(scrollTop(0, 7, 5, 100), 3);
  t.is(scrollTop(3, 4, 5, 100), 3);
  t.is(scrollTop(10, 4, 5, 100), 4);
  t.is(scrollTop(50, 99, 5, 10), 5);
});

test('sort: < > cycle the columns on screen (times descending, names ascending), I inverts', (t) => {
  t.deepEqual(initialView.sort, { column: 'blocked', desc: true });
  t.deepEqual(run([{ type: 'sort', step: 1 }]).sort, { column: 'location', desc: false });
  t.deepEqual(run([{ type: 'sort', step: -1 }]).sort, { column: 'state', desc: false });
  t.deepEqual(run([{ type: 'sort', step: -1 }, { type: 'sort', step: -1 }, { type: 'sort', step: -1 }]).sort, { column: 'creator', desc: false });
  t.deepEqual(run([{ type: 'sort', step: 1 }], ctx({ columns: ['id', 'state', 'blocked', 'channel', 'location', 'creator'] })).sort, { column: 'channel', desc: true });
  t.deepEqual(run([{ type: 'invert' }]).sort, { column: 'blocked', desc: false });
});

test('filter: typing edits a draft, Enter applies it, Esc clears it; an invalid regex is not applied', (t) => {
  const typing = run([{ type: 'filterOpen' }, { type: 'filterType', text: 'mute' }, { type: 'filterType', text: 'xx' }, { type: 'filterBackspace' }]);
  t.is(typing.mode, 'filter');
  t.is(typing.draft, 'mutex');
  t.is(typing.filter, '');
  const applied = run([{ type: 'filterCommit' }], ctx(), typing);
  t.is(applied.mode, 'table');
  t.is(applied.filter, 'mutex');
  t.is(run([{ type: 'back' }], ctx(), applied).filter, '');
  const bad = run([{ type: 'filterOpen' }, { type: 'filterType', text: 'a(' }, { type: 'filterCommit' }]);
  t.is(bad.mode, 'filter');
  t.is(bad.filter, '');
  // While typing, other keys are text.
  t.deepEqual(keyToCommand('filter', 'q', NO_KEY), { type: 'filterType', text: 'q' });
});

test('group: g cycles none → creation site → top frame → whole stack; Enter expands and collapses', (t) => {
  t.deepEqual([1, 2, 3, 4].map((n) => run(Array(n).fill({ type: 'group' })).grouping), ['creator', 'top', 'stack', 'none']);
  const groups = groupRows(rows, 'creator');
  const c = ctx({ items: flatten(rows, groups, new Set()) });
  const s = run([{ type: 'group' }, { type: 'move', by: 1 }, { type: 'enter' }], c);
  t.deepEqual([...s.expanded], [groups[1]!.key]);
  t.is(s.mode, 'table');
  t.deepEqual([...run([{ type: 'enter' }], c, s).expanded], []);
  t.deepEqual([...run([{ type: 'back' }], c, s).expanded], [], 'Esc collapses');
});

test('Enter on a goroutine opens its stack; it scrolls, and Esc or Enter closes it', (t) => {
  const s = run([{ type: 'move', by: 2 }, { type: 'enter' }]);
  t.is(s.mode, 'stack');
  t.is(s.stackGoid, rows.at(2)!.id);
  t.is(run([{ type: 'page', by: 1 }], ctx(), s).stackTop, 9);
  t.is(run([{ type: 'end' }], ctx(), s).stackTop, 20);
  t.is(run([{ type: 'move', by: -1 }], ctx(), s).stackTop, 0);
  t.is(run([{ type: 'back' }], ctx(), s).mode, 'table');
  t.is(run([{ type: 'enter' }], ctx(), s).mode, 'table');
  t.deepEqual(run([{ type: 'sort', step: 1 }], ctx(), s).sort, initialView.sort, 'table keys do nothing here');
});

test('system, pause, help and messages', (t) => {
  t.true(run([{ type: 'system' }]).showSystem);
  t.true(run([{ type: 'pause' }]).paused);
  t.false(run([{ type: 'pause' }, { type: 'pause' }]).paused);
  t.is(run([{ type: 'help' }]).mode, 'help');
  t.is(run([{ type: 'help' }, { type: 'help' }]).mode, 'table');
  t.is(run([{ type: 'help' }, { type: 'back' }]).mode, 'table');
  t.is(run([{ type: 'message', text: 'dump written' }]).message, 'dump written');
});

test('keymap: htop/k9s keys per mode', (t) => {
  t.deepEqual(keyToCommand('table', '', key({ downArrow: true })), { type: 'move', by: 1 });
  t.deepEqual(keyToCommand('table', '', key({ pageUp: true })), { type: 'page', by: -1 });
  t.deepEqual(keyToCommand('table', '', key({ home: true })), { type: 'home' });
  t.deepEqual(keyToCommand('table', '>', NO_KEY), { type: 'sort', step: 1 });
  t.deepEqual(keyToCommand('table', '<', NO_KEY), { type: 'sort', step: -1 });
  t.deepEqual(keyToCommand('table', F6, NO_KEY), { type: 'sort', step: 1 });
  t.is(keyToCommand('filter', F6, NO_KEY), null);
  t.deepEqual(keyToCommand('table', 'I', key({})), { type: 'invert' });
  t.deepEqual(keyToCommand('table', '/', NO_KEY), { type: 'filterOpen' });
  t.deepEqual(keyToCommand('table', 'g', NO_KEY), { type: 'group' });
  t.deepEqual(keyToCommand('table', '', key({ return: true })), { type: 'enter' });
  t.deepEqual(keyToCommand('stack', '', key({ escape: true, meta: true })), { type: 'back' });
  t.deepEqual(keyToCommand('stack', '', key({ leftArrow: true })), { type: 'back' });
  t.deepEqual(keyToCommand('table', 'd', NO_KEY), { type: 'dump' });
  t.deepEqual(keyToCommand('table', 's', NO_KEY), { type: 'system' });
  t.deepEqual(keyToCommand('table', ' ', NO_KEY), { type: 'pause' });
  t.deepEqual(keyToCommand('help', '?', NO_KEY), { type: 'help' });
  t.deepEqual(keyToCommand('stack', 'q', NO_KEY), { type: 'quit' });
  t.deepEqual(keyToCommand('filter', 'c', key({ ctrl: true })), { type: 'quit' });
  t.is(keyToCommand('table', 'x', NO_KEY), null);
  t.is(keyToCommand('table', 'g', key({ meta: true })), null, 'Alt-g is not g');
  t.deepEqual(keyToCommand('filter', 'a\x1bb', NO_KEY), { type: 'filterType', text: 'ab' }, 'control characters are not typed');
});

test('typed text and return read in one piece type the text, then commit the filter', (t) => {
  const cmd = keyToCommand('filter', '^main\\.chanRecv$\r', NO_KEY);
  t.deepEqual(cmd, { type: 'filterType', text: '^main\\.chanRecv$', commit: true });
  const after = run([{ type: 'filterOpen' }, cmd as Action]);
  t.is(after.mode, 'table');
  t.is(after.filter, '^main\\.chanRecv$');
});
