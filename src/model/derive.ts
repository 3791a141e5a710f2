// Pure functions from the model's rows to what the table shows: filter,
// sort, group, and the flat list of visible items. They run once per
// refresh or per change of a view setting, never per keystroke of movement.
import type { Frame } from '../runtime/goroutine.ts';
import { type GoroutineRow, locationText } from './rows.ts';

/** In the table's order. */
export const SORT_COLUMNS = ['id', 'state', 'blocked', 'channel', 'location', 'creator'] as const;
export type SortColumn = (typeof SORT_COLUMNS)[number];
export interface SortSpec {
  column: SortColumn;
  desc: boolean;
}
export const GROUPINGS = ['none', 'creator', 'top', 'stack'] as const;
export type Grouping = (typeof GROUPINGS)[number];

export interface Group {
  readonly key: string;
  readonly label: string;
  readonly rows: readonly GoroutineRow[];
  /** The most common state, with how many other states there are. */
  readonly state: string;
  readonly otherStates: number;
  readonly maxBlockedMs: number | null;
  readonly blockedExact: boolean;
}

export type Item =
  | { readonly kind: 'goroutine'; readonly row: GoroutineRow; readonly member: boolean }
  | { readonly kind: 'group'; readonly group: Group; readonly expanded: boolean };

export function itemKey(item: Item): string {
  return item.kind === 'goroutine' ? `g${item.row.id}` : `group:${item.group.key}`;
}

/** Case-insensitive; an invalid pattern is an error message, not an exception. */
export function compileFilter(text: string): { re: RegExp | null; error: string | null } {
  if (text === '') return { re: null, error: null };
  try {
    return { re: new RegExp(text, 'i'), error: null };
  } catch (err) {
    return { re: null, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Rows whose state, a frame's function, or creator's function matches; system goroutines only when shown. */
export function filterRows(rows: readonly GoroutineRow[], re: RegExp | null, showSystem: boolean): GoroutineRow[] {
  if (re === null) return showSystem ? [...rows] : rows.filter((r) => !r.g.system);
  // Stacks and creators are shared objects: test each once.
  const byStack = new Map<readonly Frame[], boolean>();
  const byText = new Map<string, boolean>();
  const test = (s: string): boolean => {
    let hit = byText.get(s);
    if (hit === undefined) byText.set(s, (hit = re.test(s)));
    return hit;
  };
  return rows.filter((r) => {
    if (!showSystem && r.g.system) return false;
    if (test(r.state) || (r.creator !== null && test(r.creator.function))) return true;
    let hit = byStack.get(r.g.frames);
    if (hit === undefined) byStack.set(r.g.frames, (hit = r.g.frames.some((f) => test(f.function))));
    return hit;
  });
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function columnCompare(column: SortColumn): (a: GoroutineRow, b: GoroutineRow) => number {
  switch (column) {
    case 'id': return (a, b) => a.id - b.id;
    case 'state': return (a, b) => cmpStr(a.state, b.state);
    case 'blocked': return (a, b) => (a.blockedMs ?? -1) - (b.blockedMs ?? -1);
    case 'location': return (a, b) => cmpStr(locationText(a.location), locationText(b.location));
    case 'creator': return (a, b) => cmpStr(locationText(a.creator), locationText(b.creator));
    case 'channel': return (a, b) => (a.channel ?? -1) - (b.channel ?? -1);
  }
}

/** Sorted copy; ties by goid ascending (older goroutines first). Rows without a value sort last either way. */
export function sortRows(rows: readonly GoroutineRow[], sort: SortSpec): GoroutineRow[] {
  const cmp = columnCompare(sort.column);
  const dir = sort.desc ? -1 : 1;
  const missing = (r: GoroutineRow): boolean =>
    (sort.column === 'blocked' && r.blockedMs === null) || (sort.column === 'channel' && r.channel === null) ||
    (sort.column === 'location' && r.location === null) || (sort.column === 'creator' && r.creator === null);
  return [...rows].sort((a, b) => {
    const ma = missing(a);
    const mb = missing(b);
    if (ma !== mb) return ma ? 1 : -1;
    return dir * cmp(a, b) || a.id - b.id;
  });
}

const stackKeys = new WeakMap<readonly Frame[], string>();

function stackKey(frames: readonly Frame[]): string {
  let k = stackKeys.get(frames);
  if (k === undefined) stackKeys.set(frames, (k = frames.map((f) => `${f.function} ${f.file}:${f.line}`).join('\n')));
  return k;
}

function groupKey(r: GoroutineRow, grouping: Exclude<Grouping, 'none'>): { key: string; label: string } {
  switch (grouping) {
    case 'creator': {
      const l = r.creator === null ? '(no creator)' : locationText(r.creator);
      return { key: l, label: l };
    }
    case 'top': {
      const l = r.location === null ? '(no stack)' : locationText(r.location);
      return { key: l, label: l };
    }
    case 'stack': {
      const l = r.location === null ? '(no stack)' : `${locationText(r.location)}  [${r.g.frames.length} frames]`;
      return { key: `${stackKey(r.g.frames)}\n${locationText(r.creator)}`, label: l };
    }
  }
}

function makeGroup(key: string, label: string, rows: GoroutineRow[]): Group {
  const states = new Map<string, number>();
  let maxBlockedMs: number | null = null;
  let blockedExact = false;
  for (const r of rows) {
    states.set(r.state, (states.get(r.state) ?? 0) + 1);
    if (r.blockedMs !== null && (maxBlockedMs === null || r.blockedMs > maxBlockedMs)) {
      maxBlockedMs = r.blockedMs;
      blockedExact = r.blockedExact;
    }
  }
  let state = '';
  let most = -1;
  for (const [s, n] of states) if (n > most || (n === most && s < state)) [state, most] = [s, n];
  return { key, label, rows, state, otherStates: states.size - 1, maxBlockedMs, blockedExact };
}

/** Groups of already sorted rows (members keep that order); largest group first, then longest blocked. */
export function groupRows(rows: readonly GoroutineRow[], grouping: Exclude<Grouping, 'none'>): Group[] {
  const byKey = new Map<string, { label: string; rows: GoroutineRow[] }>();
  for (const r of rows) {
    const { key, label } = groupKey(r, grouping);
    let g = byKey.get(key);
    if (g === undefined) byKey.set(key, (g = { label, rows: [] }));
    g.rows.push(r);
  }
  const groups = [...byKey].map(([key, g]) => makeGroup(key, g.label, g.rows));
  return groups.sort((a, b) => b.rows.length - a.rows.length || (b.maxBlockedMs ?? -1) - (a.maxBlockedMs ?? -1) || cmpStr(a.label, b.label));
}

/** The visible list: rows, or group rows each followed by its members when expanded. */
export function flatten(rows: readonly GoroutineRow[], groups: readonly Group[] | null, expanded: ReadonlySet<string>): Item[] {
  if (groups === null) return rows.map((row) => ({ kind: 'goroutine', row, member: false }));
  const out: Item[] = [];
  for (const group of groups) {
    const open = expanded.has(group.key);
    out.push({ kind: 'group', group, expanded: open });
    if (open) for (const row of group.rows) out.push({ kind: 'goroutine', row, member: true });
  }
  return out;
}
