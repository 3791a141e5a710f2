// One table row per goroutine: the columns the view sorts, filters and shows,
// computed once per snapshot. Stacks are shared between goroutines parked at
// the same place (the symbolizer caches them), so everything derived from a
// stack is cached per frames array.
import type { CompactSnapshot } from '../runtime/compact.ts';
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
