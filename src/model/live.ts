// LiveModel: turns a stream of snapshots (and, when attached, a ProbeFeed)
// into the immutable ModelView the UI renders. Without probes, blocked times
// are lower bounds: the time since gtop first saw a goroutine in its current
// wait (same status, wait reason and top frame), or the runtime's own
// minutes when larger. Created/exited rates come from goid sets.
import type { ChannelJSON, LeakSuspectJSON } from '../analysis/json.ts';
import { CompactSnapshot, FLAG_SYSTEM, type WireSnapshot } from '../runtime/compact.ts';
import { type Frame, STATUS_NAMES, type Snapshot } from '../runtime/goroutine.ts';
import type { ParkColumns, ProbeFeed } from './probe.ts';
import { type RowColumns, type RowList, RowTable, isBlockedStatus, topUserFrame } from './rows.ts';

export interface ProcessInfo {
  pid: number;
  /** The short name (comm). */
  name: string;
  /** Seconds since the process started, when known. */
  uptimeSec: number | null;
}

export interface StatusCount {
  status: string;
  count: number;
}

export interface ProbeStatus {
  mode: string;
  overhead: number | null;
  drops: number;
}

/** The wait analysis of a snapshot (src/analysis, as its JSON). */
export interface WaitInfo {
  readonly channels: readonly ChannelJSON[];
  readonly leakSuspects: readonly LeakSuspectJSON[];
}

export interface ModelView {
  readonly generation: number;
  readonly process: ProcessInfo;
  readonly goVersion: string;
  readonly module: string | null;
  readonly takenAt: Date;
  readonly snapshotMs: number;
  /** Every goroutine, system ones included (row.g.system tells), in goid order; rows.table finds one by goid. */
  readonly rows: RowList;
  /** Non-system goroutines, and the runtime's own. */
  readonly total: number;
  readonly system: number;
  /** Non-system goroutines per status, most first. */
  readonly byStatus: readonly StatusCount[];
  /** Non-system totals of the last refreshes, oldest first. */
  readonly history: readonly number[];
  /** Per second since the previous refresh; null on the first. */
  readonly createdPerSec: number | null;
  readonly exitedPerSec: number | null;
  /** null: figures come from snapshots. */
  readonly probes: ProbeStatus | null;
  readonly unreadable: number;
  /** Why the last refresh failed, when it did (the view keeps the last good snapshot). */
  readonly error: string | null;
  /** The target has exited: nothing will refresh any more. */
  readonly gone: boolean;
  /** Channels with waiters (most first) and leak suspects, from the latest analysed snapshot. */
  readonly channels: readonly ChannelJSON[];
  readonly leakSuspects: readonly LeakSuspectJSON[];
  /** Stack captured at park time by the probes, by goid. */
  parkStack(goid: number): readonly Frame[] | null;
}

/** The previous snapshot, for what carries over: since when each goroutine waits as it does. */
interface Previous {
  /** Only the columns the carry-over reads: the rest of that snapshot can go. */
  snap: Pick<WireSnapshot, 'id' | 'status' | 'waitReason' | 'strings' | 'stack'>;
  /** Time (ms) of the snapshot that first showed each goroutine's current wait. */
  since: Float64Array;
  /** Per distinct stack, its top user frame as "function:line" ('' for none). */
  waitKeys: readonly string[];
}

const HISTORY = 600;

export class LiveModel {
  private feed: ProbeFeed | undefined;
  private previous: Previous | undefined;
  private history: number[] = [];
  private prev: { at: number; counters: { created: number; exited: number } | null } | undefined;
  private generation = 0;
  private last: ModelView | undefined;
  private waits: WaitInfo = { channels: [], leakSuspects: [] };

  constructor(feed?: ProbeFeed) {
    this.feed = feed;
  }

  get current(): ModelView | undefined {
    return this.last;
  }

  /** Probes attached later (or never): from the next ingest on, figures come from `feed`. */
  setFeed(feed: ProbeFeed | undefined): void {
    this.feed = feed;
    this.prev = undefined; // rates restart: counters and goid sets do not mix
  }

  /**
   * Folds in a snapshot taken at `nowMs` (wall clock, ms); without `waits`,
   * the previous analysis stays. A plain Snapshot is first put in columns
   * (snapshots from the worker already are).
   */
  ingest(plain: Snapshot, proc: ProcessInfo, nowMs: number, waits?: WaitInfo | null): ModelView {
    this.feed?.update();
    if (waits) this.waits = waits;
    const snap = CompactSnapshot.from(plain);
    const n = snap.length;
    const gen = ++this.generation;
    const parkStacks = new Map<number, readonly Frame[]>();
    const cols: RowColumns = {
      snap, blockedMs: new Float64Array(n).fill(NaN), blockedExact: new Uint8Array(n), channel: new Float64Array(n).fill(NaN),
      location: snap.distinctStacks.map((frames) => topUserFrame(frames, snap.module)),
    };
    // Each pass over the rows is a function of typed arrays: optimized once, whatever the rest of ingest does.
    const waitKeys = cols.location.map((f) => (f === null ? '' : `${f.function}:${f.line}`));
    const since = new Float64Array(n);
    const { fresh, gone } = carryOver(this.previous, snap, waitKeys, since, nowMs);
    const { system, counts } = tally(snap.wire.status, snap.wire.flags);
    blockedTimes(snap, cols, since, nowMs, this.feed, parkStacks);
    const { id, status, waitReason, strings, stack } = snap.wire;
    this.previous = { snap: { id, status, waitReason, strings, stack }, since, waitKeys };
    const { created, exited } = this.rates(fresh, gone, nowMs);
    const total = n - system;
    this.history.push(total);
    if (this.history.length > HISTORY) this.history.splice(0, this.history.length - HISTORY);
    const feed = this.feed;
    const byStatus: StatusCount[] = [];
    counts.forEach((count, k) => count > 0 && byStatus.push({ status: STATUS_NAMES[k]!, count }));
    this.last = {
      generation: gen,
      process: proc,
      goVersion: snap.goVersion,
      module: snap.module,
      takenAt: snap.takenAt,
      snapshotMs: snap.durationMs,
      rows: new RowTable(cols).all(),
      total,
      system,
      byStatus: byStatus.sort((a, b) => b.count - a.count || (a.status < b.status ? -1 : 1)),
      history: [...this.history],
      createdPerSec: created,
      exitedPerSec: exited,
      probes: feed ? { mode: feed.mode, overhead: feed.overhead(), drops: feed.counters().drops } : null,
      unreadable: snap.unreadable,
      error: null,
      gone: false,
      channels: this.waits.channels,
      leakSuspects: this.waits.leakSuspects,
      parkStack: (goid) => parkStacks.get(goid) ?? null,
    };
    return this.last;
  }

  /** Keeps the last good view and says why the refresh failed. */
  fail(message: string, gone: boolean): ModelView | undefined {
    if (this.last === undefined) return undefined;
    this.last = { ...this.last, generation: ++this.generation, error: message, gone };
    return this.last;
  }

  private rates(fresh: number, gone: number, nowMs: number): { created: number | null; exited: number | null } {
    const counters = this.feed ? this.feed.counters() : null;
    const prev = this.prev;
    this.prev = { at: nowMs, counters: counters ? { created: counters.created, exited: counters.exited } : null };
    if (prev === undefined || nowMs <= prev.at) return { created: null, exited: null };
    const secs = (nowMs - prev.at) / 1000;
    if (counters && prev.counters) return { created: (counters.created - prev.counters.created) / secs, exited: (counters.exited - prev.counters.exited) / secs };
    return { created: fresh / secs, exited: gone / secs };
  }
}

/** Non-system goroutines per status index, and the system ones. */
function tally(status: Uint8Array, flags: Uint8Array): { system: number; counts: number[] } {
  const counts = new Array<number>(STATUS_NAMES.length).fill(0);
  let system = 0;
  for (let i = 0; i < status.length; i++) {
    if ((flags[i]! & FLAG_SYSTEM) !== 0) system++;
    else counts[status[i]!]!++;
  }
  return { system, counts };
}

const BLOCKED = Uint8Array.from(STATUS_NAMES, (s) => (isBlockedStatus(s) ? 1 : 0));

/**
 * Since when each goroutine waits as it does now: carried over when it has
 * the same status, wait reason and top user frame as in the previous
 * snapshot, else now. A merge on goid (both snapshots are in goid order);
 * counts new and gone goids.
 */
function carryOver(prev: Previous | undefined, snap: CompactSnapshot, waitKeys: readonly string[], since: Float64Array, nowMs: number): { fresh: number; gone: number } {
  const n = snap.length;
  if (prev === undefined) {
    since.fill(nowMs);
    return { fresh: n, gone: 0 };
  }
  const a = snap.wire;
  const b = prev.snap;
  const m = b.id.length;
  let j = 0;
  let matched = 0;
  for (let i = 0; i < n; i++) {
    const id = a.id[i]!;
    while (j < m && b.id[j]! < id) j++;
    since[i] = nowMs;
    if (j >= m || b.id[j] !== id) continue;
    matched++;
    const ra = a.waitReason[i]!;
    const rb = b.waitReason[j]!;
    // Wait reasons index per-message string tables: compare the strings.
    const same = a.status[i] === b.status[j] && (ra < 0 ? rb < 0 : rb >= 0 && a.strings[ra] === b.strings[rb])
      && waitKeys[a.stack[i]!] === prev.waitKeys[b.stack[j]!];
    if (same) since[i] = prev.since[j]!;
  }
  return { fresh: n - matched, gone: m - matched };
}

/** Blocked time per row (exact from a probe, else a lower bound from snapshots), and the channel a probe saw. */
function blockedTimes(snap: CompactSnapshot, cols: RowColumns, since: Float64Array, nowMs: number, feed: ProbeFeed | undefined, parkStacks: Map<number, readonly Frame[]>): void {
  const w = snap.wire;
  const parks = feed ? new Parks(feed) : undefined;
  const nowNs = feed ? feed.nowNs() : 0;
  for (let i = 0; i < w.id.length; i++) {
    if (BLOCKED[w.status[i]!] === 0) continue;
    const id = w.id[i]!;
    const r = w.waitReason[i]!;
    if (parks?.seen(id, r < 0 ? null : w.strings[r]!)) {
      if (parks.stack) parkStacks.set(id, parks.stack);
      cols.blockedMs[i] = Math.max(0, (nowNs - parks.parkedAtNs) / 1e6);
      cols.blockedExact[i] = 1;
      cols.channel[i] = parks.channel;
    } else {
      const minutes = w.waitMinutes[i]!;
      cols.blockedMs[i] = Math.max(nowMs - since[i]!, minutes >= 0 ? minutes * 60_000 : 0);
    }
  }
}

/**
 * The probes' parks for a snapshot's rows, asked in goid order: a merge over
 * the feed's columns when it has them (no lookup, no object per goroutine),
 * else one park() per goroutine. The figures of the last hit are its fields.
 */
class Parks {
  parkedAtNs = 0;
  /** NaN: not on a channel. */
  channel = NaN;
  stack: readonly Frame[] | undefined;
  private readonly cols: ParkColumns | undefined;
  private readonly stacks: Map<number, readonly Frame[]> | undefined;
  private k = 0;

  constructor(private readonly feed: ProbeFeed) {
    this.cols = feed.parkColumns?.();
    this.stacks = this.cols && this.cols.stacks.length > 0 ? new Map(this.cols.stacks) : undefined;
  }

  /** True when the probes saw `goid` park for this wait reason (a park for another reason is an older one). */
  seen(goid: number, reason: string | null): boolean {
    const c = this.cols;
    if (c === undefined) {
      const p = this.feed.park(goid);
      if (p === undefined || p.reason !== reason) return false;
      this.parkedAtNs = p.parkedAtNs;
      this.channel = p.channel ?? NaN;
      this.stack = p.parkStack;
      return true;
    }
    while (this.k < c.goid.length && c.goid[this.k]! < goid) this.k++;
    const k = this.k;
    if (k >= c.goid.length || c.goid[k] !== goid || c.reasons[c.reason[k]!] !== reason) return false;
    this.parkedAtNs = c.parkedAtNs[k]!;
    this.channel = c.channel[k]!;
    this.stack = this.stacks?.get(goid);
    return true;
  }
}
