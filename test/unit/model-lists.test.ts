import test from 'ava';
import { type ViewContext, type ViewState, initialView, reduce } from '../../src/model/view.ts';
import { keyToCommand, NO_KEY } from '../../src/model/keys.ts';
import { listTop } from '../../ui/ListView.tsx';

const ctx = (listKeys: string[]): ViewContext => ({ items: [], columns: [], pageSize: 3, stackLines: 0, stackPage: 0, listKeys });
const keys = ['0xa', '0xb', '0xc', '0xd', '0xe'];

test('c and l open their view from the table and close it again; Esc returns to the table', (t) => {
  let s = reduce(initialView, { type: 'channels' }, ctx(keys));
  t.is(s.mode, 'channels');
  t.is(reduce(s, { type: 'channels' }, ctx(keys)).mode, 'table');
  s = reduce(s, { type: 'leaks' }, ctx(keys));
  t.is(s.mode, 'leaks');
  t.is(s.listCursor, 0);
  t.is(reduce(s, { type: 'back' }, ctx(keys)).mode, 'table');
});

test('in a list view, moves are clamped to its entries and Enter opens / folds the entry under the cursor', (t) => {
  const c = ctx(keys);
  let s: ViewState = reduce(initialView, { type: 'channels' }, c);
  s = reduce(s, { type: 'move', by: -1 }, c);
  t.is(s.listCursor, 0);
  s = reduce(s, { type: 'page', by: 1 }, c);
  t.is(s.listCursor, 2);
  s = reduce(s, { type: 'end' }, c);
  t.is(s.listCursor, 4);
  s = reduce(s, { type: 'enter' }, c);
  t.is(s.listOpen, '0xe');
  s = reduce(s, { type: 'home' }, c);
  s = reduce(s, { type: 'enter' }, c);
  t.is(s.listOpen, '0xa');
  t.is(reduce(s, { type: 'enter' }, c).listOpen, null);
  t.is(s.cursor, initialView.cursor, 'the table\'s cursor is left alone');
  // The list shrank under the cursor: Enter opens the last entry.
  t.is(reduce({ ...s, listCursor: 9, listOpen: null }, { type: 'enter' }, ctx(['0xa'])).listOpen, '0xa');
  t.is(reduce(s, { type: 'enter' }, ctx([])), s);
});

test('the keymap: c and l in every view but the filter', (t) => {
  t.deepEqual(keyToCommand('table', 'c', NO_KEY), { type: 'channels' });
  t.deepEqual(keyToCommand('leaks', 'c', NO_KEY), { type: 'channels' });
  t.deepEqual(keyToCommand('channels', 'l', NO_KEY), { type: 'leaks' });
  t.deepEqual(keyToCommand('filter', 'c', NO_KEY), { type: 'filterType', text: 'c' });
});

test('listTop keeps the cursor\'s entry and its details on screen', (t) => {
  const lines = [0, 1, 1, 1, 2, 3, 4].map((entry, i) => ({ text: String(i), kind: 'entry' as const, entry }));
  t.is(listTop(lines, 0, 3), 0);
  t.is(listTop(lines, 1, 3), 1);
  t.is(listTop(lines, 4, 3), 4);
  t.is(listTop(lines, 1, 2), 1, 'details that do not fit: the entry stays on top');
  t.is(listTop(lines, 4, 10), 0);
});
