/** @jsxRuntime automatic @jsxImportSource react */
// The screen: header, then the table (or a goroutine's stack, or help), then
// one footer line. Holds the view state; everything it shows comes from the
// ModelView prop and pure functions of src/model. I/O is done by the
// callbacks the wiring passes in.
import { Box } from 'ink';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { type Item, compileFilter, filterRows, flatten, groupRows, sortRows } from '../src/model/derive.ts';
import type { Command } from '../src/model/keys.ts';
import type { ModelView } from '../src/model/live.ts';
import type { GoroutineRow } from '../src/model/rows.ts';
import { type Action, type ViewContext, type ViewState, initialView, reduce, resolveCursor, scrollTop } from '../src/model/view.ts';
import { ChannelView, channelKey } from './ChannelView.tsx';
import { tableColumns } from './columns.ts';
import { Footer } from './Footer.tsx';
import { GoroutineTable } from './GoroutineTable.tsx';
import { HEADER_LINES, Header } from './Header.tsx';
import { Help } from './Help.tsx';
import { LeakView, leakKey } from './LeakView.tsx';
import { StackView, stackLines } from './StackView.tsx';
import { useKeymap } from './useKeymap.ts';

export interface AppProps {
  readonly view: ModelView | undefined;
  readonly pid: number;
  readonly width: number;
  readonly height: number;
  readonly color: boolean;
  readonly refreshSec: number;
  readonly initial?: Partial<ViewState>;
  /** Why there are no probe figures (e.g. "probes off"), when there are none. */
  readonly noProbes?: string | null;
  onQuit(): void;
  /** Writes the dump; returns the message to show (the path, or why it failed). */
  onDump(showSystem: boolean): string;
  onPause(paused: boolean): void;
}

const NO_ROWS: readonly GoroutineRow[] = [];
const GROUP_TITLES = { creator: 'creation site', top: 'top frame', stack: 'whole stack' } as const;

function useItems(rows: readonly GoroutineRow[], s: ViewState): { items: Item[]; shown: number; filterError: string | null } {
  const pattern = s.mode === 'filter' ? s.draft : s.filter;
  const filterError = useMemo(() => compileFilter(pattern).error, [pattern]);
  // While the typed pattern is not a valid regex, the table keeps the applied one.
  const effective = filterError === null ? pattern : s.filter;
  const filtered = useMemo(() => filterRows(rows, compileFilter(effective).re, s.showSystem), [rows, effective, s.showSystem]);
  const sorted = useMemo(() => sortRows(filtered, s.sort), [filtered, s.sort]);
  const groups = useMemo(() => (s.grouping === 'none' ? null : groupRows(sorted, s.grouping)), [sorted, s.grouping]);
  const items = useMemo(() => flatten(sorted, groups, s.expanded), [sorted, groups, s.expanded]);
  return { items, shown: filtered.length, filterError };
}

/** Keys of the channel or leak-suspect view's entries, and the goroutines by id (for the channel view). */
function useLists(view: ModelView | undefined, mode: ViewState['mode'], rows: readonly GoroutineRow[]) {
  const keys = useMemo(() => {
    if (mode === 'channels') return (view?.channels ?? []).map(channelKey);
    if (mode === 'leaks') return (view?.leakSuspects ?? []).map(leakKey);
    return [];
  }, [view, mode]);
  const byId = useMemo(() => (mode === 'channels' ? new Map(rows.map((r) => [r.id, r])) : new Map<number, GoroutineRow>()), [rows, mode]);
  return { keys, byId };
}

/** The open goroutine, or the last one seen with its id once it has exited. */
function useStackRow(rows: readonly GoroutineRow[], goid: number | null): { row: GoroutineRow | null; exited: boolean } {
  const last = useRef<GoroutineRow | null>(null);
  const found = useMemo(() => (goid === null ? undefined : rows.find((r) => r.id === goid)), [rows, goid]);
  if (found) last.current = found;
  else if (last.current?.id !== goid) last.current = null;
  return { row: last.current, exited: found === undefined && last.current !== null };
}

export function App(p: AppProps) {
  const [state, setState] = useState<ViewState>(() => ({ ...initialView, ...p.initial }));
  const rows = p.view?.rows ?? NO_ROWS;
  const { items, shown, filterError } = useItems(rows, state);
  const bodyHeight = Math.max(1, p.height - HEADER_LINES - 1);
  const pageSize = Math.max(1, bodyHeight - 1);
  const cursor = useMemo(() => resolveCursor(state, items), [state.selected, state.cursor, items]);
  const top = scrollTop(state.top, cursor, pageSize, items.length);
  const stack = useStackRow(rows, state.mode === 'stack' ? state.stackGoid : null);
  const lines = useMemo(
    () => (stack.row ? stackLines(stack.row, p.view?.parkStack(stack.row.id) ?? null, stack.exited) : []),
    [stack.row, stack.exited, p.view],
  );

  const lists = useLists(p.view, state.mode, rows);
  const listCursor = Math.max(0, Math.min(state.listCursor, lists.keys.length - 1));
  const showChannel = p.view?.probes != null;
  const columns = useMemo(() => tableColumns(p.width, showChannel).map((c) => c.id), [p.width, showChannel]);
  const ctx = useRef<ViewContext>({ items, columns, pageSize, stackLines: 0, stackPage: 0 });
  ctx.current = { items, columns, pageSize, stackLines: Math.max(0, lines.length - 1), stackPage: bodyHeight - 1, listKeys: lists.keys };
  const latest = useRef(state);
  latest.current = state;
  const props = useRef(p);
  props.current = p;
  const dispatch = useCallback((a: Action) => setState((s) => reduce(s, a, ctx.current)), []);

  const onCommand = useCallback((c: Command) => {
    const s = latest.current;
    if (s.message !== null && c.type !== 'dump') dispatch({ type: 'message', text: null });
    if (c.type === 'quit') return props.current.onQuit();
    if (c.type === 'dump') return dispatch({ type: 'message', text: props.current.onDump(s.showSystem) });
    dispatch(c);
  }, [dispatch]);
  useKeymap(state.mode, onCommand);
  const firstPause = useRef(true);
  useEffect(() => {
    if (firstPause.current) firstPause.current = false;
    else props.current.onPause(state.paused);
  }, [state.paused]);

  let body;
  if (state.mode === 'help') body = <Help width={p.width} height={bodyHeight} />;
  else if (state.mode === 'channels') {
    body = <ChannelView channels={p.view?.channels ?? []} rows={lists.byId} cursor={listCursor} open={state.listOpen} height={bodyHeight} width={p.width} color={p.color} />;
  } else if (state.mode === 'leaks') {
    body = <LeakView suspects={p.view?.leakSuspects ?? []} cursor={listCursor} open={state.listOpen} height={bodyHeight} width={p.width} color={p.color} />;
  } else if (state.mode === 'stack') body = <StackView lines={lines} top={state.stackTop} height={bodyHeight} width={p.width} color={p.color} />;
  else {
    const empty = p.view === undefined ? '' : state.filter !== '' || state.draft !== '' ? 'no goroutine matches the filter' : 'no goroutines';
    body = <GoroutineTable items={items} cursor={cursor} top={top} height={pageSize} width={p.width} showChannel={showChannel} sort={state.sort} color={p.color} empty={empty}
      groupTitle={state.grouping === 'none' ? null : GROUP_TITLES[state.grouping]} />;
  }
  return (
    <Box flexDirection="column" width={p.width} height={p.height}>
      <Header view={p.view} pid={p.pid} width={p.width} color={p.color} refreshSec={p.refreshSec} paused={state.paused} noProbes={p.noProbes ?? null}
        sort={state.sort} grouping={state.grouping} filter={state.filter} shown={shown} showSystem={state.showSystem} />
      {body}
      <Footer mode={state.mode} draft={state.draft} filterError={filterError} message={state.message} width={p.width} color={p.color} />
    </Box>
  );
}
