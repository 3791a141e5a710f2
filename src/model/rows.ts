// One table row per goroutine: the columns the view sorts, filters and shows,
// computed once per snapshot. Stacks are shared between goroutines parked at
// the same place (the symbolizer caches them), so everything derived from a
// stack is cached per frames array. Rows are not kept as objects: a RowTable
// holds the columns, a RowList is a selection of its rows as a Uint32Array of
// indexes, and a row object (SnapshotRow, two fields) is made when asked for,
// i.e. for the rows on screen. 100k goroutines then cost typed arrays, not
// 100k objects per refresh for the garbage collector to trace.
import type { CompactSnapshot } from '../runtime/compact.ts';
import { indexOfSorted } from '../sorted.ts';
import type { CreatedBy, Frame, Goroutine, GoroutineStatus } from '../runtime/goroutine.ts';

export interface GoroutineRow {
  readonly g: Goroutine;
  readonly id: number;
  /** The wait reason when waiting, else the status. */
  readonly state: string;
  /** How long it has been blocked, null when it is not blocked. */
  readonly blockedMs: number | null;
  /** True when a probe timed the park; false when derived from snapshots (a lower bound). */
  readonly blockedExact: boolean;
  /** The top user frame (function and file:line); null when there is no stack. */
  readonly location: Frame | null;
  readonly creator: CreatedBy | null;
  /** The channel it waits on, when a probe saw it. */
  readonly channel: number | null;
}

/** What the model computed for each goroutine of one snapshot, by its index there. */
export interface RowColumns {
  readonly snap: CompactSnapshot;
  /** NaN: not blocked. */
  readonly blockedMs: Float64Array;
  readonly blockedExact: Uint8Array;
  /** NaN: no channel known. */
  readonly channel: Float64Array;
  /** topUserFrame of each of the snapshot's distinct stacks (sorting and grouping read it per row). */
  readonly location: readonly (Frame | null)[];
}

/**
 * A row that is also its goroutine (`g` is itself): two fields, every
 * column read from the snapshot's cells on access, so 100k rows cost a few
 * MB rather than 100k Goroutine objects with their own strings.
 */
export class SnapshotRow implements GoroutineRow, Goroutine {
  constructor(private readonly cols: RowColumns, readonly index: number) {}

  get g(): Goroutine { return this; }
  /** Also its own table item outside groups (derive.ts flatten): no item object per row. */
  get kind(): 'goroutine' { return 'goroutine'; }
  get row(): GoroutineRow { return this; }
  get member(): boolean { return false; }
  get id(): number { return this.cols.snap.id(this.index); }
  get state(): string { return stateOf(this); }
  get blockedMs(): number | null { const b = this.cols.blockedMs[this.index]!; return Number.isNaN(b) ? null : b; }
  get blockedExact(): boolean { return this.cols.blockedExact[this.index] === 1; }
  get location(): Frame | null { return this.cols.location[this.cols.snap.stackIndex(this.index)]!; }
  get creator(): CreatedBy | null { return this.cols.snap.createdBy(this.index); }
  get channel(): number | null { const c = this.cols.channel[this.index]!; return Number.isNaN(c) ? null : c; }

  get status(): GoroutineStatus { return this.cols.snap.status(this.index); }
  get rawStatus(): number { return this.cols.snap.rawStatus(this.index); }
  get waitReason(): string | null { return this.cols.snap.waitReason(this.index); }
  get waitMinutes(): number | null { return this.cols.snap.waitMinutes(this.index); }
  get lockedToThread(): boolean { return this.cols.snap.lockedToThread(this.index); }
  get system(): boolean { return this.cols.snap.system(this.index); }
  /** Shared with every goroutine of the same stack: do not modify. */
  get frames(): Frame[] { return this.cols.snap.frames(this.index) as Frame[]; }
  get stackError(): string | null { return this.cols.snap.stackError(this.index); }
  get framesElided(): boolean { return this.cols.snap.framesElided(this.index); }
  get createdBy(): CreatedBy | null { return this.cols.snap.createdBy(this.index); }
  get parentId(): number | null { return this.cols.snap.parentId(this.index); }
  get labels(): Record<string, string> { return this.cols.snap.labels(this.index); }
  get startFunction(): string | null { return this.cols.snap.startFunction(this.index); }
  get gAddr(): number { return this.cols.snap.gAddr(this.index); }

  /** The plain fields, for JSON and spreads (getters are not own properties). */
  toJSON(): Goroutine & { state: string; blockedMs: number | null; blockedExact: boolean; channel: number | null } {
    return { ...this.cols.snap.goroutine(this.index), state: this.state, blockedMs: this.blockedMs, blockedExact: this.blockedExact, channel: this.channel };
  }
}

/** Anything that finds a row by goid (a RowTable; a Map in tests). */
export interface RowLookup {
  get(goid: number): GoroutineRow | undefined;
}

/** Distinct values of a per-row key: the key of row i is `texts[code[i]]`, code -1 for none. */
export interface TextKey {
  readonly code: Int32Array;
  readonly texts: readonly string[];
}

/**
 * The rows of one model view, in snapshot order (ascending goid), read from
 * the columns; the keys the view sorts, filters and groups by are computed
 * per distinct value (a few hundred stacks, states and creators among 100k
 * goroutines), then spread over the rows once, and cached.
 */
export class RowTable implements RowLookup {
  readonly length: number;
  private state: TextKey | undefined;
  private locations: TextKey | undefined;
  private creators: TextKey | undefined;
  private everything: RowList | undefined;

  constructor(readonly cols: RowColumns) {
    this.length = cols.snap.length;
  }

  /** A new row object for index i (cheap: two fields). */
  row(i: number): SnapshotRow {
    return new SnapshotRow(this.cols, i);
  }

  /** Every row, in goid order. */
  all(): RowList {
    if (this.everything === undefined) {
      const index = new Uint32Array(this.length);
      for (let i = 0; i < index.length; i++) index[i] = i;
      this.everything = new RowList(this, index);
    }
    return this.everything;
  }

  /** The row of `goid` (binary search: rows are in goid order). */
  get(goid: number): SnapshotRow | undefined {
    const i = this.indexOf(goid);
    return i < 0 ? undefined : this.row(i);
  }

  indexOf(goid: number): number {
    return indexOfSorted(this.cols.snap.wire.id, goid);
  }

  get ids(): Float64Array { return this.cols.snap.wire.id; }
  get blockedMs(): Float64Array { return this.cols.blockedMs; }
  get channels(): Float64Array { return this.cols.channel; }
  system(i: number): boolean { return this.cols.snap.system(i); }
  stackIndex(i: number): number { return this.cols.snap.stackIndex(i); }
  creatorIndex(i: number): number { return this.cols.snap.wire.createdBy[i]!; }

  /** The STATE column's text (the wait reason, or the status). */
  stateKey(): TextKey {
    const { waitReason, status } = this.cols.snap.wire;
    // Strings index -1 (no wait reason) stays distinct: statuses are < 64.
    return (this.state ??= this.spread((i) => waitReason[i]! * 64 + status[i]!, (i) => stateOf(this.row(i))));
  }

  /** locationText of each row's top user frame; -1: no stack. */
  locationKey(): TextKey {
    return (this.locations ??= this.byTable(this.cols.location.map((f) => (f === null ? null : locationText(f))), (i) => this.cols.snap.stackIndex(i)));
  }

  /** locationText of each row's creator; -1: none. */
  creatorKey(): TextKey {
    return (this.creators ??= this.byTable(this.cols.snap.wire.creators.map((c) => locationText(c)), (i) => this.cols.snap.wire.createdBy[i]!));
  }

  /** Per row, the id of `text(i)` among the distinct texts, computed once per distinct `raw(i)` (an integer). */
  private spread(raw: (i: number) => number, text: (i: number) => string): TextKey {
    const n = this.length;
    const code = new Int32Array(n);
    const texts: string[] = [];
    const byText = new Map<string, number>();
    const byRaw = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const r = raw(i);
      let c = byRaw.get(r);
      if (c === undefined) {
        const t = text(i);
        c = byText.get(t);
        if (c === undefined) byText.set(t, (c = texts.push(t) - 1));
        byRaw.set(r, c);
      }
      code[i] = c;
    }
    return { code, texts };
  }

  /** Per row, the id of the text of its entry in a per-snapshot table (stacks, creators); null and index -1: code -1. */
  private byTable(table: readonly (string | null)[], entry: (i: number) => number): TextKey {
    const texts: string[] = [];
    const byText = new Map<string, number>();
    const codeOf = new Int32Array(table.length);
    table.forEach((t, k) => {
      if (t === null) return void (codeOf[k] = -1);
      let c = byText.get(t);
      if (c === undefined) byText.set(t, (c = texts.push(t) - 1));
      codeOf[k] = c;
    });
    const code = new Int32Array(this.length);
    for (let i = 0; i < code.length; i++) {
      const e = entry(i);
      code[i] = e < 0 ? -1 : codeOf[e]!;
    }
    return { code, texts };
  }
}

/** Some rows of a RowTable, in an order: an array-like list that makes row objects only when read. */
export class RowList implements Iterable<GoroutineRow> {
  constructor(readonly table: RowTable, readonly index: Uint32Array) {}

  get length(): number {
    return this.index.length;
  }

  /** The row at position i (negative: from the end), as Array.prototype.at. */
  at(i: number): SnapshotRow | undefined {
    const k = i < 0 ? this.index.length + i : i;
    return k >= 0 && k < this.index.length ? this.table.row(this.index[k]!) : undefined;
  }

  *[Symbol.iterator](): Iterator<SnapshotRow> {
    for (let k = 0; k < this.index.length; k++) yield this.table.row(this.index[k]!);
  }

  map<T>(f: (r: SnapshotRow, k: number) => T): T[] {
    const out = new Array<T>(this.index.length);
    for (let k = 0; k < out.length; k++) out[k] = f(this.table.row(this.index[k]!), k);
    return out;
  }

  find(f: (r: SnapshotRow) => boolean): SnapshotRow | undefined {
    for (const r of this) if (f(r)) return r;
    return undefined;
  }

  /** Position of the row of `goid` in this list, -1 when absent. */
  positionOf(goid: number): number {
    const ids = this.table.ids;
    for (let k = 0; k < this.index.length; k++) if (ids[this.index[k]!] === goid) return k;
    return -1;
  }
}

/** Statuses in which a goroutine is blocked rather than running or ready to run. */
export function isBlockedStatus(status: Goroutine['status']): boolean {
  return status === 'waiting' || status === 'syscall' || status === 'leaked';
}

export function stateOf(g: Goroutine): string {
  if (g.waitReason === null) return g.status;
  return g.status === 'leaked' ? `${g.waitReason} (leaked)` : g.waitReason;
}

/** "net/http.(*conn).serve" → "net/http"; "main.main" → "main". */
export function packageOf(fn: string): string {
  const slash = fn.lastIndexOf('/');
  const dot = fn.indexOf('.', slash + 1);
  return dot < 0 ? fn : fn.slice(0, dot);
}

/**
 * User code: package main, the main module, or any path whose first element
 * has a dot (a domain). The standard library has no dot there.
 */
export function isUserFunction(fn: string, module: string | null): boolean {
  const pkg = packageOf(fn);
  if (pkg === 'main' || pkg.startsWith('main.')) return true;
  if (module !== null && module !== '' && (pkg === module || pkg.startsWith(`${module}/`))) return true;
  const first = pkg.split('/', 1)[0]!;
  return first.includes('.');
}

const locationCache = new WeakMap<readonly Frame[], Map<string | null, Frame | null>>();

/**
 * The frame that says where a goroutine is: the innermost user frame; with
 * none (a standard-library goroutine), the outermost frame, which names what
 * the goroutine is (e.g. net/http.(*conn).serve).
 */
export function topUserFrame(frames: readonly Frame[], module: string | null): Frame | null {
  let byModule = locationCache.get(frames);
  if (byModule === undefined) locationCache.set(frames, (byModule = new Map()));
  let hit = byModule.get(module);
  if (hit === undefined) {
    hit = frames.find((f) => isUserFunction(f.function, module)) ?? frames[frames.length - 1] ?? null;
    byModule.set(module, hit);
  }
  return hit;
}

export function basename(file: string): string {
  return file.slice(file.lastIndexOf('/') + 1);
}

const texts = new WeakMap<Frame | CreatedBy, string>();

/** "main.worker main.go:42"; cached, since frames and creators are shared objects. */
export function locationText(f: Frame | CreatedBy | null): string {
  if (f === null) return '';
  let t = texts.get(f);
  if (t === undefined) texts.set(f, (t = `${f.function} ${basename(f.file)}:${f.line}`));
  return t;
}
