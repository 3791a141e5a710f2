// The view's state and its one reducer: every key the user presses becomes an
// Action, and (state, action, context) → state is pure, so it is tested
// without rendering. The context carries what the reducer must not own: the
// visible items of this frame and page sizes. Several keys may arrive between
// two renders, so the cursor is always resolved from the state itself.
import { GROUPINGS, type Grouping, type ItemList, SORT_COLUMNS, type SortColumn, type SortSpec, compileFilter, itemKey } from './derive.ts';

export type Mode = 'table' | 'filter' | 'stack' | 'help' | 'channels' | 'leaks';

export interface ViewState {
  readonly mode: Mode;
  readonly sort: SortSpec;
  /** The applied filter (a regex source; '' = none). */
  readonly filter: string;
  /** What is being typed after '/'; the table follows it while it is a valid regex. */
  readonly draft: string;
  readonly grouping: Grouping;
  /** Keys of expanded groups. */
  readonly expanded: ReadonlySet<string>;
  readonly showSystem: boolean;
  readonly paused: boolean;
  /** Index of the cursor and the key of the item under it (which wins when the list changes). */
  readonly cursor: number;
  readonly selected: string | null;
  /** First visible index of the table. */
  readonly top: number;
  /** The goroutine whose stack is open, and the stack view's scroll. */
  readonly stackGoid: number | null;
  readonly stackTop: number;
  /** The view Esc returns to from the stack view (the wait view, after following an edge). */
  readonly stackFrom: 'table' | 'channels';
  /** The channel (c) and leak-suspect (l) views: cursor, and the key of the entry opened with Enter. */
  readonly listCursor: number;
  readonly listOpen: string | null;
  readonly message: string | null;
}

export type Action =
  | { type: 'move'; by: number }
  | { type: 'page'; by: 1 | -1 }
  | { type: 'home' }
  | { type: 'end' }
  | { type: 'sort'; step: 1 | -1 }
  | { type: 'invert' }
  | { type: 'filterOpen' }
  | { type: 'filterType'; text: string; commit?: boolean }
  | { type: 'filterBackspace' }
  | { type: 'filterCommit' }
  | { type: 'group' }
  | { type: 'enter' }
  | { type: 'back' }
  | { type: 'system' }
  | { type: 'pause' }
  | { type: 'help' }
  | { type: 'channels' }
  | { type: 'leaks' }
  /** f in the wait view: open the stack of the goroutine at the other end of the entry's edge (who last woke a waiter). */
  | { type: 'follow' }
  | { type: 'message'; text: string | null };

export interface ViewContext {
  readonly items: ItemList;
  /** The sortable columns on screen, in order (CHANNEL only with probes). */
  readonly columns: readonly SortColumn[];
  /** Rows of the table that fit on screen. */
  readonly pageSize: number;
  /** Lines of the open stack view, and how many fit. */
  readonly stackLines: number;
  readonly stackPage: number;
  /** Keys of the entries of the open channel or leak-suspect view, in order. */
  readonly listKeys?: readonly string[];
  /** Per entry of listKeys: the goroutine f follows to, or why there is none. */
  readonly listFollow?: readonly (number | string)[];
}

export const initialView: ViewState = {
  mode: 'table',
  sort: { column: 'blocked', desc: true },
  filter: '',
  draft: '',
  grouping: 'none',
  expanded: new Set(),
  showSystem: false,
  paused: false,
  cursor: 0,
  selected: null,
  top: 0,
  stackGoid: null,
  stackTop: 0,
  stackFrom: 'table',
  listCursor: 0,
  listOpen: null,
  message: null,
};

const clamp = (n: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, n));

/** Where the cursor is in `items`: on the selected item if it is still there, else at the same index. */
export function resolveCursor(state: ViewState, items: ItemList): number {
  if (state.selected !== null) {
    const sel = state.selected;
    if (items.indexOfKey !== undefined) {
      const i = items.indexOfKey(sel);
      if (i >= 0) return i;
    } else {
      for (let i = 0; i < items.length; i++) if (itemKey(items.at(i)!) === sel) return i;
    }
  }
  return clamp(state.cursor, 0, Math.max(0, items.length - 1));
}

/** First visible row: moves only as much as needed to keep the cursor on screen. */
export function scrollTop(prevTop: number, cursor: number, pageSize: number, length: number): number {
  const page = Math.max(1, pageSize);
  const top = clamp(prevTop, cursor - page + 1, cursor);
  return clamp(top, 0, Math.max(0, length - page));
}

function moveTo(state: ViewState, ctx: ViewContext, index: number): ViewState {
  const n = ctx.items.length;
  const cursor = clamp(index, 0, Math.max(0, n - 1));
  const selected = n > 0 ? itemKey(ctx.items.at(cursor)!) : null;
  return { ...state, cursor, selected, top: scrollTop(state.top, cursor, ctx.pageSize, n) };
}

function scrollStack(state: ViewState, ctx: ViewContext, to: number): ViewState {
  return { ...state, stackTop: clamp(to, 0, Math.max(0, ctx.stackLines - ctx.stackPage)) };
}

function enter(state: ViewState, ctx: ViewContext): ViewState {
  const cursor = resolveCursor(state, ctx.items);
  const it = ctx.items.at(cursor);
  if (it === undefined) return state;
  if (it.kind === 'goroutine') return { ...state, mode: 'stack', stackGoid: it.row.id, stackTop: 0, stackFrom: 'table' };
  const expanded = new Set(state.expanded);
  if (!expanded.delete(it.group.key)) expanded.add(it.group.key);
  return { ...state, expanded, cursor, selected: itemKey(it) };
}

function back(state: ViewState): ViewState {
  if (state.mode === 'stack' && state.stackFrom !== 'table') return { ...state, mode: state.stackFrom, stackFrom: 'table', message: null };
  if (state.mode !== 'table') return { ...state, mode: 'table', message: null };
  if (state.filter !== '') return { ...state, filter: '', draft: '', message: null };
  if (state.expanded.size > 0) return { ...state, expanded: new Set() };
  return { ...state, message: null };
}

function tableAction(state: ViewState, a: Action, ctx: ViewContext): ViewState {
  switch (a.type) {
    case 'move': return moveTo(state, ctx, resolveCursor(state, ctx.items) + a.by);
    case 'page': return moveTo(state, ctx, resolveCursor(state, ctx.items) + a.by * Math.max(1, ctx.pageSize - 1));
    case 'home': return moveTo(state, ctx, 0);
    case 'end': return moveTo(state, ctx, ctx.items.length - 1);
    case 'enter': return enter(state, ctx);
    default: return state;
  }
}

function stackAction(state: ViewState, a: Action, ctx: ViewContext): ViewState {
  switch (a.type) {
    case 'move': return scrollStack(state, ctx, state.stackTop + a.by);
    case 'page': return scrollStack(state, ctx, state.stackTop + a.by * Math.max(1, ctx.stackPage - 1));
    case 'home': return scrollStack(state, ctx, 0);
    case 'end': return scrollStack(state, ctx, ctx.stackLines);
    case 'enter': return back(state);
    default: return state;
  }
}

function listAction(state: ViewState, a: Action, ctx: ViewContext): ViewState {
  const keys = ctx.listKeys ?? [];
  const to = (i: number): ViewState => ({ ...state, listCursor: clamp(i, 0, Math.max(0, keys.length - 1)) });
  const at = clamp(state.listCursor, 0, Math.max(0, keys.length - 1));
  switch (a.type) {
    case 'move': return to(at + a.by);
    case 'page': return to(at + a.by * Math.max(1, ctx.pageSize - 1));
    case 'home': return to(0);
    case 'end': return to(keys.length - 1);
    case 'enter': {
      const key = keys[at];
      if (key === undefined) return state;
      return { ...state, listCursor: at, listOpen: state.listOpen === key ? null : key };
    }
    case 'follow': {
      if (state.mode !== 'channels') return state;
      const to = ctx.listFollow?.[at];
      if (to === undefined) return state;
      if (typeof to === 'string') return { ...state, listCursor: at, message: to };
      return { ...state, listCursor: at, mode: 'stack', stackGoid: to, stackTop: 0, stackFrom: 'channels', message: null };
    }
    default: return state;
  }
}

/** c and l open their view, or close it when it is the one open. */
function toggleList(state: ViewState, mode: 'channels' | 'leaks'): ViewState {
  if (state.mode === mode) return { ...state, mode: 'table' };
  // Back from a followed edge, the wait view keeps its place.
  if (state.mode === 'stack' && state.stackFrom === mode) return { ...state, mode, stackFrom: 'table' };
  return { ...state, mode, listCursor: 0, listOpen: null, stackFrom: 'table' };
}

function filterAction(state: ViewState, a: Action): ViewState {
  switch (a.type) {
    case 'filterType': {
      const typed = { ...state, draft: state.draft + a.text };
      return a.commit ? filterAction(typed, { type: 'filterCommit' }) : typed;
    }
    case 'filterBackspace': return { ...state, draft: state.draft.slice(0, -1) };
    case 'filterCommit':
      if (compileFilter(state.draft).error !== null) return state;
      return { ...state, mode: 'table', filter: state.draft, cursor: 0, selected: null, top: 0 };
    case 'back': return { ...state, mode: 'table', filter: '', draft: '', cursor: 0, selected: null, top: 0 };
    default: return state;
  }
}

export function reduce(state: ViewState, a: Action, ctx: ViewContext): ViewState {
  if (state.mode === 'filter') return filterAction(state, a);
  const tableOnly = a.type === 'sort' || a.type === 'invert' || a.type === 'filterOpen' || a.type === 'group';
  if (tableOnly && state.mode !== 'table') return state;
  switch (a.type) {
    case 'sort': {
      const cols = ctx.columns.length > 0 ? ctx.columns : SORT_COLUMNS;
      const i = Math.max(0, cols.indexOf(state.sort.column));
      const column = cols[(i + a.step + cols.length) % cols.length]!;
      // Times read best longest first; names and ids ascending.
      return { ...state, sort: { column, desc: column === 'blocked' || column === 'channel' } };
    }
    case 'invert': return { ...state, sort: { ...state.sort, desc: !state.sort.desc } };
    case 'filterOpen': return { ...state, mode: 'filter', draft: state.filter };
    case 'group': {
      const grouping = GROUPINGS[(GROUPINGS.indexOf(state.grouping) + 1) % GROUPINGS.length]!;
      return { ...state, grouping, expanded: new Set(), cursor: 0, selected: null, top: 0 };
    }
    case 'system': return { ...state, showSystem: !state.showSystem };
    case 'pause': return { ...state, paused: !state.paused };
    case 'help': return { ...state, mode: state.mode === 'help' ? 'table' : 'help' };
    case 'channels':
    case 'leaks': return toggleList(state, a.type);
    case 'back': return back(state);
    case 'message': return { ...state, message: a.text };
    default:
      if (state.mode === 'stack') return stackAction(state, a, ctx);
      if (state.mode === 'table') return tableAction(state, a, ctx);
      if (state.mode === 'channels' || state.mode === 'leaks') return listAction(state, a, ctx);
      return a.type === 'enter' ? back(state) : state;
  }
}
