// Pure functions from the model's rows to what the table shows: filter,
// sort, group, and the list of visible items. They run once per refresh or
// per change of a view setting, never per keystroke of movement. Every
// per-row value lives in a typed array and selections are Uint32Arrays of
// row indexes: at 100k goroutines a sort allocates no object per row (when
// it did, the garbage collector took more of a frame than the sort).
import type { Frame } from '../runtime/goroutine.ts';
import { type GoroutineRow, RowList, type TextKey, locationText } from './rows.ts';

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
  /** Its goroutines, in the order of the list it was made from. */
  readonly rows: RowList;
  /** The most common state, with how many other states there are. */
  readonly state: string;
  readonly otherStates: number;
  readonly maxBlockedMs: number | null;
  readonly blockedExact: boolean;
}

export type Item =
  | { readonly kind: 'goroutine'; readonly row: GoroutineRow; readonly member: boolean }
  | { readonly kind: 'group'; readonly group: Group; readonly expanded: boolean };

/** The table's items by position: only those on screen are ever made. Arrays of items are ItemLists too. */
export interface ItemList {
  readonly length: number;
  at(i: number): Item | undefined;
  /** Position of the item whose itemKey is `key`, -1 when absent (without making every item). */
  indexOfKey?(key: string): number;
}

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
export function filterRows(rows: RowList, re: RegExp | null, showSystem: boolean): RowList {
  const t = rows.table;
  const snap = t.cols.snap;
  // Tested once per distinct state, creator and stack, not per row.
  const state = re === null ? null : t.stateKey();
  const stateHit = state === null ? [] : state.texts.map((s) => re!.test(s));
  const creatorHit = re === null ? [] : snap.wire.creators.map((c) => re.test(c.function));
  const byFunction = new Map<string, boolean>();
  const test = (fn: string): boolean => {
    let hit = byFunction.get(fn);
    if (hit === undefined) byFunction.set(fn, (hit = re!.test(fn)));
    return hit;
  };
  const stackHit = re === null ? [] : snap.distinctStacks.map((frames) => frames.some((f) => test(f.function)));
  const out = new Uint32Array(rows.length);
  let n = 0;
  for (let k = 0; k < rows.length; k++) {
    const i = rows.index[k]!;
    if (!showSystem && t.system(i)) continue;
    if (re !== null) {
      const c = t.creatorIndex(i);
      if (!stateHit[state!.code[i]!] && !(c >= 0 && creatorHit[c]) && !stackHit[t.stackIndex(i)]) continue;
    }
    out[n++] = i;
  }
  return new RowList(t, out.slice(0, n));
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);

/**
 * Stable LSD radix sort of positions by 64-bit unsigned keys (hi, lo words
 * per position), 16 bits a pass; a pass where every key has the same digit
 * is skipped, so small keys (ranks of a few hundred texts) take one pass.
 */
function radixSort(order: Uint32Array, hi: Uint32Array, lo: Uint32Array): Uint32Array {
  const n = order.length;
  if (n < 2) return order;
  let src: Uint32Array = order;
  let dst: Uint32Array = new Uint32Array(n);
  const count = new Uint32Array(65536);
  for (let pass = 0; pass < 4; pass++) {
    const words = pass < 2 ? lo : hi;
    const shift = (pass & 1) * 16;
    count.fill(0);
    for (let k = 0; k < n; k++) count[(words[src[k]!]! >>> shift) & 0xffff]++;
    if (count[(words[src[0]!]! >>> shift) & 0xffff] === n) continue;
    let sum = 0;
    for (let d = 0; d < 65536; d++) {
      const c = count[d]!;
      count[d] = sum;
      sum += c;
    }
    for (let k = 0; k < n; k++) {
      const p = src[k]!;
      dst[count[(words[p]! >>> shift) & 0xffff]++] = p;
    }
    [src, dst] = [dst, src];
  }
  return src;
}

/** Ranks of texts in string order (equal texts never occur: TextKey texts are distinct). */
function textRanks(texts: readonly string[]): Uint32Array {
  const order = texts.map((_, k) => k).sort((a, b) => cmpStr(texts[a]!, texts[b]!));
  const rank = new Uint32Array(texts.length);
  order.forEach((k, r) => (rank[k] = r));
  return rank;
}

/**
 * Sorted copy; ties by goid ascending (older goroutines first), null keys
 * last whatever the direction. Keys become 64-bit unsigned integers in
 * typed arrays (numbers by their IEEE bits, texts by rank among the distinct
 * texts) and a radix sort orders them: no comparator call, no object per row.
 */
export function sortRows(rows: RowList, sort: SortSpec): RowList {
  const t = rows.table;
  // Rows are indexed in goid order: ascending indexes make every tie fall in goid order (the sort is stable).
  let index: Uint32Array = rows.index;
  for (let k = 1; k < index.length; k++) {
    if (index[k - 1]! > index[k]!) {
      index = index.slice().sort();
      break;
    }
  }
  const n = index.length;
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  const keyed = new Uint32Array(n);
  const missing = new Uint32Array(n);
  let m = 0;
  let nulls = 0;
  const flip = sort.desc ? 0xffffffff : 0;
  if (sort.column === 'id' || sort.column === 'blocked' || sort.column === 'channel') {
    const values = sort.column === 'id' ? t.ids : sort.column === 'blocked' ? t.blockedMs : t.channels;
    for (let k = 0; k < n; k++) {
      const v = values[index[k]!]!;
      if (Number.isNaN(v)) {
        missing[nulls++] = index[k]!;
        continue;
      }
      scratch[0] = v === 0 ? 0 : v; // -0 sorts as 0
      let h = scratchWords[1]!;
      let l = scratchWords[0]!;
      // IEEE order as unsigned integers: negative numbers flipped whole, positive ones with the sign bit set.
      if ((h & 0x80000000) !== 0) {
        h = ~h;
        l = ~l;
      } else h |= 0x80000000;
      hi[m] = (h ^ flip) >>> 0;
      lo[m] = (l ^ flip) >>> 0;
      keyed[m] = index[k]!;
      m++;
    }
  } else {
    const key: TextKey = sort.column === 'state' ? t.stateKey() : sort.column === 'location' ? t.locationKey() : t.creatorKey();
    const rank = textRanks(key.texts);
    for (let k = 0; k < n; k++) {
      const c = key.code[index[k]!]!;
      if (c < 0) {
        missing[nulls++] = index[k]!;
        continue;
      }
      lo[m] = (rank[c]! ^ flip) >>> 0;
      keyed[m] = index[k]!;
      m++;
    }
  }
  const positions = new Uint32Array(m);
  for (let k = 0; k < m; k++) positions[k] = k;
  const sorted = radixSort(positions, hi, lo);
  const out = new Uint32Array(n);
  for (let k = 0; k < m; k++) out[k] = keyed[sorted[k]!]!;
  out.set(missing.subarray(0, nulls), m);
  return new RowList(t, out);
}

const stackKeys = new WeakMap<readonly Frame[], string>();

function stackKey(frames: readonly Frame[]): string {
  let k = stackKeys.get(frames);
  if (k === undefined) stackKeys.set(frames, (k = frames.map((f) => `${f.function} ${f.file}:${f.line}`).join('\n')));
  return k;
}

/** Per row, its group's number and, per group number, its key and label. */
interface Keys {
  readonly of: (row: number) => number;
  readonly key: (g: number) => string;
  readonly label: (g: number) => string;
}

function groupKeys(rows: RowList, grouping: Exclude<Grouping, 'none'>): Keys {
  const t = rows.table;
  if (grouping !== 'stack') {
    const k = grouping === 'creator' ? t.creatorKey() : t.locationKey();
    const none = grouping === 'creator' ? '(no creator)' : '(no stack)';
    const text = (g: number): string => (g === 0 ? none : k.texts[g - 1]!);
    return { of: (i) => k.code[i]! + 1, key: text, label: text };
  }
  // Whole stack and creation site: a pair of small numbers, numbered in order of appearance.
  const stacks = t.cols.snap.distinctStacks;
  const stackText = new Map<string, number>();
  const stackCode = stacks.map((frames) => {
    const s = stackKey(frames);
    let c = stackText.get(s);
    if (c === undefined) stackText.set(s, (c = stackText.size));
    return c;
  });
  const creators = t.creatorKey();
  const width = creators.texts.length + 1;
  const byPair = new Map<number, number>();
  const first: number[] = [];
  return {
    of: (i) => {
      const pair = stackCode[t.stackIndex(i)]! * width + creators.code[i]! + 1;
      let g = byPair.get(pair);
      if (g === undefined) {
        byPair.set(pair, (g = first.length));
        first.push(i);
      }
      return g;
    },
    key: (g) => {
      const i = first[g]!;
      const creator = creators.code[i]!;
      const k1 = stackKey(stacks[t.stackIndex(i)]!);
      return creator < 0 ? k1 : `${k1}\n${creators.texts[creator]!}`;
    },
    label: (g) => {
      const i = first[g]!;
      const location = t.cols.location[t.stackIndex(i)] ?? null;
      return location === null ? '(no stack)' : `${locationText(location)}  [${stacks[t.stackIndex(i)]!.length} frames]`;
    },
  };
}

/** Groups of already sorted rows (members keep that order); largest group first, then longest blocked. */
export function groupRows(rows: RowList, grouping: Exclude<Grouping, 'none'>): Group[] {
  const t = rows.table;
  const n = rows.length;
  const keys = groupKeys(rows, grouping);
  const of = new Uint32Array(n);
  let groups = 0;
  for (let k = 0; k < n; k++) groups = Math.max(groups, (of[k] = keys.of(rows.index[k]!)) + 1);
  // A stable counting sort by group: members keep the list's order, each group one slice of `members`.
  const start = new Uint32Array(groups + 1);
  for (let k = 0; k < n; k++) start[of[k]! + 1]++;
  for (let g = 0; g < groups; g++) start[g + 1] += start[g]!;
  const fill = start.slice(0, groups);
  const members = new Uint32Array(n);
  for (let k = 0; k < n; k++) members[fill[of[k]!]!++] = rows.index[k]!;
  const state = t.stateKey();
  const tally = new Uint32Array(state.texts.length);
  const out: Group[] = [];
  for (let g = 0; g < groups; g++) {
    const slice = members.subarray(start[g]!, start[g + 1]!);
    if (slice.length === 0) continue;
    let maxBlockedMs: number | null = null;
    let blockedExact = false;
    for (const i of slice) {
      tally[state.code[i]!]++;
      const b = t.blockedMs[i]!;
      if (!Number.isNaN(b) && (maxBlockedMs === null || b > maxBlockedMs)) {
        maxBlockedMs = b;
        blockedExact = t.cols.blockedExact[i] === 1;
      }
    }
    let top = '';
    let most = 0;
    let states = 0;
    for (const i of slice) {
      const c = state.code[i]!;
      const count = tally[c]!;
      if (count === 0) continue; // already counted
      states++;
      const s = state.texts[c]!;
      if (count > most || (count === most && s < top)) [top, most] = [s, count];
      tally[c] = 0;
    }
    out.push({ key: keys.key(g), label: keys.label(g), rows: new RowList(t, slice), state: top, otherStates: states - 1, maxBlockedMs, blockedExact });
  }
  return out.sort((a, b) => b.rows.length - a.rows.length || (b.maxBlockedMs ?? -1) - (a.maxBlockedMs ?? -1) || cmpStr(a.label, b.label));
}

/** Rows as items: the row objects (SnapshotRow) are items themselves. */
class RowItems implements ItemList, Iterable<Item> {
  constructor(private readonly rows: RowList) {}
  get length(): number {
    return this.rows.length;
  }
  at(i: number): Item | undefined {
    return this.rows.at(i);
  }
  indexOfKey(key: string): number {
    return key.startsWith('g') ? this.rows.positionOf(Number(key.slice(1))) : -1;
  }
  *[Symbol.iterator](): Iterator<Item> {
    yield* this.rows;
  }
}

/** Group rows, each followed by its members when expanded. */
class GroupItems implements ItemList, Iterable<Item> {
  /** Position of each group's own row. */
  private readonly starts: number[] = [];
  readonly length: number;

  constructor(private readonly groups: readonly Group[], private readonly open: readonly boolean[]) {
    let at = 0;
    groups.forEach((g, k) => {
      this.starts.push(at);
      at += 1 + (open[k] ? g.rows.length : 0);
    });
    this.length = at;
  }

  at(i: number): Item | undefined {
    if (i < 0) i += this.length;
    if (i < 0 || i >= this.length) return undefined;
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.starts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    const group = this.groups[lo]!;
    const off = i - this.starts[lo]!;
    if (off === 0) return { kind: 'group', group, expanded: this.open[lo]! };
    return { kind: 'goroutine', row: group.rows.at(off - 1)!, member: true };
  }

  indexOfKey(key: string): number {
    if (key.startsWith('group:')) {
      const k = this.groups.findIndex((g) => `group:${g.key}` === key);
      return k < 0 ? -1 : this.starts[k]!;
    }
    const goid = Number(key.slice(1));
    for (let k = 0; k < this.groups.length; k++) {
      if (!this.open[k]) continue;
      const p = this.groups[k]!.rows.positionOf(goid);
      if (p >= 0) return this.starts[k]! + 1 + p;
    }
    return -1;
  }

  *[Symbol.iterator](): Iterator<Item> {
    for (let i = 0; i < this.length; i++) yield this.at(i)!;
  }
}

/** The visible list: rows, or group rows each followed by its members when expanded. */
export function flatten(rows: RowList, groups: readonly Group[] | null, expanded: ReadonlySet<string>): ItemList & Iterable<Item> {
  if (groups === null) return new RowItems(rows);
  return new GroupItems(groups, groups.map((g) => expanded.has(g.key)));
}
