// Pure functions from the model's rows to what the table shows: filter,
// sort, group, and the flat list of visible items. They run once per
// refresh or per change of a view setting, never per keystroke of movement.
import type { Frame } from '../runtime/goroutine.ts';
import { type GoroutineRow, SnapshotRow, locationText } from './rows.ts';

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

/** The value a row sorts by; null sorts last whatever the direction. */
function sortKey(r: GoroutineRow, column: SortColumn): number | string | null {
  switch (column) {
    case 'id': return r.id;
    case 'state': return r.state;
    case 'blocked': return r.blockedMs;
    case 'location': return r.location === null ? null : locationText(r.location);
    case 'creator': return r.creator === null ? null : locationText(r.creator);
    case 'channel': return r.channel;
  }
}

/** Above this many distinct keys per row, a comparison sort; below, buckets. */
const BUCKET_RATIO = 0.25;

/**
 * Sorted copy; ties by goid ascending (older goroutines first), null keys
 * last whatever the direction. 100k goroutines share few distinct keys
 * (stacks, creators, states, snapshot times), so rows go into one bucket
 * per key and only the keys are sorted; with many distinct keys (goids,
 * blocked times the probes measured) it is a comparison sort over keys
 * computed once per row (numeric ones in a Float64Array, not boxed).
 */
export function sortRows(rows: readonly GoroutineRow[], sort: SortSpec): GoroutineRow[] {
  const n = rows.length;
  const dir = sort.desc ? -1 : 1;
  const ids = new Float64Array(n);
  for (let i = 0; i < n; i++) ids[i] = rows[i]!.id;
  const numeric = sort.column === 'id' || sort.column === 'blocked' || sort.column === 'channel';
  const keys = rows.map((r) => sortKey(r, sort.column));
  const byId = (i: number, j: number): number => ids[i]! - ids[j]!;
  const cmpKey = (a: number | string, b: number | string): number => dir * (numeric ? (a as number) - (b as number) : cmpStr(a as string, b as string));
  const buckets = new Map<number | string | null, number[]>();
  for (let i = 0; i < n && buckets.size <= n * BUCKET_RATIO + 1; i++) {
    const k = keys[i]!;
    const b = buckets.get(k);
    if (b === undefined) buckets.set(k, [i]);
    else b.push(i);
  }
  let order: number[];
  if (buckets.size <= n * BUCKET_RATIO + 1) {
    const distinct = [...buckets.keys()].sort((a, b) => (a === null ? 1 : b === null ? -1 : cmpKey(a, b)));
    order = [];
    for (const k of distinct) {
      const b = buckets.get(k)!;
      // Rows usually come in goid order already (snapshots are): then the bucket is too.
      let ordered = true;
      for (let x = 1; x < b.length && ordered; x++) ordered = ids[b[x - 1]!]! < ids[b[x]!]!;
      if (!ordered) b.sort(byId);
      for (const i of b) order.push(i);
    }
  } else {
    order = rows.map((_, i) => i);
    if (numeric) {
      const nk = new Float64Array(n);
      for (let i = 0; i < n; i++) nk[i] = (keys[i] as number | null) ?? NaN;
      order.sort((i, j) => {
        const a = nk[i]!;
        const b = nk[j]!;
        if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) === Number.isNaN(b) ? byId(i, j) : Number.isNaN(a) ? 1 : -1;
        return dir * (a - b) || byId(i, j);
      });
    } else {
      order.sort((i, j) => {
        const a = keys[i]!;
        const b = keys[j]!;
        if (a === null || b === null) return a === b ? byId(i, j) : a === null ? 1 : -1;
        return cmpKey(a, b) || byId(i, j);
      });
    }
  }
  return order.map((i) => rows[i]!);
}

const stackKeys = new WeakMap<readonly Frame[], string>();

function stackKey(frames: readonly Frame[]): string {
  let k = stackKeys.get(frames);
  if (k === undefined) stackKeys.set(frames, (k = frames.map((f) => `${f.function} ${f.file}:${f.line}`).join('\n')));
  return k;
}

/** Group key in two parts (no per-row string building) and the label. */
function groupKey(r: GoroutineRow, grouping: Exclude<Grouping, 'none'>): [string, string] {
  switch (grouping) {
    case 'creator': return [r.creator === null ? '(no creator)' : locationText(r.creator), ''];
    case 'top': return [r.location === null ? '(no stack)' : locationText(r.location), ''];
    case 'stack': return [stackKey(r.g.frames), locationText(r.creator)];
  }
}

function groupLabel(r: GoroutineRow, grouping: Exclude<Grouping, 'none'>): string {
  if (grouping !== 'stack') return groupKey(r, grouping)[0];
  return r.location === null ? '(no stack)' : `${locationText(r.location)}  [${r.g.frames.length} frames]`;
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
  const byKey = new Map<string, Map<string, GoroutineRow[]>>();
  const found: { key: string; rows: GoroutineRow[] }[] = [];
  for (const r of rows) {
    const [k1, k2] = groupKey(r, grouping);
    let inner = byKey.get(k1);
    if (inner === undefined) byKey.set(k1, (inner = new Map()));
    let list = inner.get(k2);
    if (list === undefined) {
      inner.set(k2, (list = []));
      found.push({ key: k2 === '' ? k1 : `${k1}\n${k2}`, rows: list });
    }
    list.push(r);
  }
  const groups = found.map((f) => makeGroup(f.key, groupLabel(f.rows[0]!, grouping), f.rows));
  return groups.sort((a, b) => b.rows.length - a.rows.length || (b.maxBlockedMs ?? -1) - (a.maxBlockedMs ?? -1) || cmpStr(a.label, b.label));
}

/** The visible list: rows, or group rows each followed by its members when expanded. */
export function flatten(rows: readonly GoroutineRow[], groups: readonly Group[] | null, expanded: ReadonlySet<string>): Item[] {
  if (groups === null) return rows.map((row) => (row instanceof SnapshotRow ? row : { kind: 'goroutine', row, member: false }));
  const out: Item[] = [];
  for (const group of groups) {
    const open = expanded.has(group.key);
    out.push({ kind: 'group', group, expanded: open });
    if (open) for (const row of group.rows) out.push({ kind: 'goroutine', row, member: true });
  }
  return out;
}
