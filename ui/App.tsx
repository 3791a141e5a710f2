/** @jsxRuntime automatic @jsxImportSource react */
// The screen: header, then the table (or a goroutine's stack, or help), then
// one footer line. Holds the view state; everything it shows comes from the
// ModelView prop and pure functions of src/model. I/O is done by the
// callbacks the wiring passes in.
import { Box, Text } from 'ink';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { type ItemList, compileFilter, filterRows, flatten, groupRows, sortRows } from '../src/model/derive.ts';
import type { Command } from '../src/model/keys.ts';
import type { ModelView } from '../src/model/live.ts';
import type { GoroutineRow, RowList, RowLookup } from '../src/model/rows.ts';
import { type Action, type ViewContext, type ViewState, initialView, reduce, resolveCursor, scrollTop } from '../src/model/view.ts';
import { NO_WAIT_EXTRAS, type WaitExtras, deadlockSummary } from '../src/model/waits.ts';
import type { Frame } from '../src/runtime/goroutine.ts';
import { ChannelView, type WaitData, waitEntries } from './ChannelView.tsx';
import { tableColumns } from './columns.ts';
import { Footer } from './Footer.tsx';
import { GoroutineTable } from './GoroutineTable.tsx';
import { HEADER_LINES, Header } from './Header.tsx';
import { Help } from './Help.tsx';
import { LeakView, leakKey } from './LeakView.tsx';
import { StackView, stackLines } from './StackView.tsx';
import { fit } from './text.ts';
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
  /** Locks, deadlock cycles and channel activity for the wait view (c). */
  readonly waits?: WaitExtras;
  /** The park-time stack fetched for the open stack view (see onStackOpen). */
  readonly parkStack?: ParkStackState | null;
  /** A goroutine's stack view opened: the wiring fetches its park-time stack. */
  onStackOpen?(goid: number): void;
}

export interface ParkStackState {
  readonly goid: number;
  readonly frames: readonly Frame[] | null;
  /** Why there is none, when there is none (e.g. "--probes full captures it"). */
  readonly why: string | null;
}

const NO_ITEMS: ItemList = [];
const NO_ROWS: RowLookup = new Map<number, GoroutineRow>();
const GROUP_TITLES = { creator: 'creation site', top: 'top frame', stack: 'whole stack' } as const;

function useItems(rows: RowList | undefined, s: ViewState): { items: ItemList; shown: number; filterError: string | null } {
  const pattern = s.mode === 'filter' ? s.draft : s.filter;
  const filterError = useMemo(() => compileFilter(pattern).error, [pattern]);
  // While the typed pattern is not a valid regex, the table keeps the applied one.
  const effective = filterError === null ? pattern : s.filter;
  const filtered = useMemo(() => rows && filterRows(rows, compileFilter(effective).re, s.showSystem), [rows, effective, s.showSystem]);
  const sorted = useMemo(() => filtered && sortRows(filtered, s.sort), [filtered, s.sort]);
  const groups = useMemo(() => (sorted === undefined || s.grouping === 'none' ? null : groupRows(sorted, s.grouping)), [sorted, s.grouping]);
  const items = useMemo(() => (sorted === undefined ? NO_ITEMS : flatten(sorted, groups, s.expanded)), [sorted, groups, s.expanded]);
  return { items, shown: filtered?.length ?? 0, filterError };
}

/** Keys of the wait or leak-suspect view's entries, where f goes from each, and the goroutines by id (for the wait view). */
function useLists(data: WaitData, mode: ViewState['mode'], leaks: ModelView['leakSuspects'], rows: RowLookup) {
  const { keys, follow } = useMemo(() => {
    if (mode === 'channels') return waitEntries(data);
    if (mode === 'leaks') return { keys: leaks.map(leakKey), follow: [] };
    return { keys: [], follow: [] };
  }, [data, leaks, mode]);
  return { keys, follow, byId: rows };
}

function DeadlockBanner({ data, width, color }: { data: WaitData; width: number; color: boolean }) {
  const elem = (address: string) => data.channels.find((c) => c.address === address)?.elemType ?? null;
  const n = data.deadlocks.length - 1;
  const more = n > 0 ? `  (+${n} more cycle${n === 1 ? '' : 's'})` : '';
  const text = `${deadlockSummary(data.deadlocks[0]!, elem)}${more}  c: path and evidence`;
  return <Text bold color={color ? 'red' : undefined} inverse={!color} wrap="truncate-end">{fit(text, width)}</Text>;
}

/** The open goroutine, or the last one seen with its id once it has exited. */
function useStackRow(rows: RowLookup, goid: number | null): { row: GoroutineRow | null; exited: boolean } {
  const last = useRef<GoroutineRow | null>(null);
  const found = useMemo(() => (goid === null ? undefined : rows.get(goid)), [rows, goid]);
  if (found) last.current = found;
  else if (last.current?.id !== goid) last.current = null;
  return { row: last.current, exited: found === undefined && last.current !== null };
}

export function App(p: AppProps) {
  const [state, setState] = useState<ViewState>(() => ({ ...initialView, ...p.initial }));
  const rows = p.view?.rows;
  const byId = rows?.table ?? NO_ROWS;
  const { items, shown, filterError } = useItems(rows, state);
  const extras = p.waits ?? NO_WAIT_EXTRAS;
  const channels = p.view?.channels;
  const data = useMemo<WaitData>(() => ({ ...extras, channels: channels ?? [] }), [extras, channels]);
  // A proven deadlock takes the first line above the table.
  const banner = state.mode === 'table' && data.deadlocks.length > 0;
  const bodyHeight = Math.max(1, p.height - HEADER_LINES - 1);
  const pageSize = Math.max(1, bodyHeight - 1 - (banner ? 1 : 0));
  const cursor = useMemo(() => resolveCursor(state, items), [state.selected, state.cursor, items]);
  const top = scrollTop(state.top, cursor, pageSize, items.length);
  const stack = useStackRow(byId, state.mode === 'stack' ? state.stackGoid : null);
  const fetched = stack.row && p.parkStack?.goid === stack.row.id ? p.parkStack : null;
  const lines = useMemo(() => {
    // Followed to a goroutine that has already exited (or not yet been seen).
    if (!stack.row) return state.stackGoid === null ? [] : [{ text: `goroutine ${state.stackGoid}: not in the latest snapshot (it has exited)`, kind: 'title' as const }];
    const id = stack.row.id;
    const park = fetched?.frames ?? p.view?.parkStack(id) ?? null;
    const cycle = data.deadlocked.get(id);
    const deadlock = cycle === undefined ? null : data.deadlocks[cycle]?.goroutines.filter((g) => g !== id) ?? null;
    return stackLines(stack.row, park, stack.exited, { parkWhy: park === null ? fetched?.why ?? null : null, deadlockWith: deadlock });
  }, [stack.row, stack.exited, p.view, fetched, data, state.stackGoid]);

  const lists = useLists(data, state.mode, p.view?.leakSuspects ?? [], byId);
  const listCursor = Math.max(0, Math.min(state.listCursor, lists.keys.length - 1));
  const showChannel = p.view?.probes != null;
  const columns = useMemo(() => tableColumns(p.width, showChannel).map((c) => c.id), [p.width, showChannel]);
  const ctx = useRef<ViewContext>({ items, columns, pageSize, stackLines: 0, stackPage: 0 });
  ctx.current = { items, columns, pageSize, stackLines: Math.max(0, lines.length - 1), stackPage: bodyHeight - 1, listKeys: lists.keys, listFollow: lists.follow };
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
  const openGoid = state.mode === 'stack' ? state.stackGoid : null;
  // Fetched again at each refresh while open: the goroutine may have parked elsewhere since.
  const generation = p.view?.generation;
  useEffect(() => {
    if (openGoid !== null) props.current.onStackOpen?.(openGoid);
  }, [openGoid, generation]);
  const firstPause = useRef(true);
  useEffect(() => {
    if (firstPause.current) firstPause.current = false;
    else props.current.onPause(state.paused);
  }, [state.paused]);

  let body;
  if (state.mode === 'help') body = <Help width={p.width} height={bodyHeight} />;
  else if (state.mode === 'channels') {
    body = <ChannelView data={data} rows={lists.byId} cursor={listCursor} open={state.listOpen} height={bodyHeight} width={p.width} color={p.color} />;
  } else if (state.mode === 'leaks') {
    body = <LeakView suspects={p.view?.leakSuspects ?? []} cursor={listCursor} open={state.listOpen} height={bodyHeight} width={p.width} color={p.color} />;
  } else if (state.mode === 'stack') body = <StackView lines={lines} top={state.stackTop} height={bodyHeight} width={p.width} color={p.color} />;
  else {
    const empty = p.view === undefined ? '' : state.filter !== '' || state.draft !== '' ? 'no goroutine matches the filter' : 'no goroutines';
    body = (
      <>
        {banner ? <DeadlockBanner data={data} width={p.width} color={p.color} /> : null}
        <GoroutineTable items={items} cursor={cursor} top={top} height={pageSize} width={p.width} showChannel={showChannel} sort={state.sort} color={p.color} empty={empty}
          groupTitle={state.grouping === 'none' ? null : GROUP_TITLES[state.grouping]} deadlocked={data.deadlocked} />
      </>
    );
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
