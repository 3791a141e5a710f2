// LiveModel: turns a stream of snapshots (and, when attached, a ProbeFeed)
// into the immutable ModelView the UI renders. Without probes, blocked times
// are lower bounds: the time since gtop first saw a goroutine in its current
// wait (same status, wait reason and top frame), or the runtime's own
// minutes when larger. Created/exited rates come from goid sets.
import type { ChannelJSON, LeakSuspectJSON } from '../analysis/json.ts';
import type { Frame, Goroutine, Snapshot } from '../runtime/goroutine.ts';
import type { ProbeFeed } from './probe.ts';
import { type GoroutineRow, isBlockedStatus, stateOf, topUserFrame } from './rows.ts';

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
  /** Every goroutine, system ones included (rows[i].g.system tells). */
  readonly rows: readonly GoroutineRow[];
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

interface Seen {
  status: string;
  reason: string | null;
  top: Frame | null;
  /** Time of the snapshot that first showed this wait, ms. */
  since: number;
  /** The last ingest that saw this goroutine. */
  gen: number;
}

const HISTORY = 600;

export class LiveModel {
  private feed: ProbeFeed | undefined;
  private readonly seen = new Map<number, Seen>();
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

  /** Folds in a snapshot taken at `nowMs` (wall clock, ms); without `waits`, the previous analysis stays. */
  ingest(snap: Snapshot, proc: ProcessInfo, nowMs: number, waits?: WaitInfo | null): ModelView {
    this.feed?.update();
    if (waits) this.waits = waits;
    const gen = ++this.generation;
    const parkStacks = new Map<number, readonly Frame[]>();
    const rows: GoroutineRow[] = new Array(snap.goroutines.length);
    let fresh = 0;
    let system = 0;
    const counts = new Map<string, number>();
    for (let i = 0; i < snap.goroutines.length; i++) {
      const g = snap.goroutines[i]!;
      if (!this.seen.has(g.id)) fresh++;
      rows[i] = this.row(g, gen, nowMs, snap.module, parkStacks);
      if (g.system) system++;
      else counts.set(g.status, (counts.get(g.status) ?? 0) + 1);
    }
    let gone = 0;
    for (const [id, s] of this.seen) {
      if (s.gen !== gen) {
        this.seen.delete(id);
        gone++;
      }
    }
    const { created, exited } = this.rates(fresh, gone, nowMs);
    const total = snap.goroutines.length - system;
    this.history.push(total);
    if (this.history.length > HISTORY) this.history.splice(0, this.history.length - HISTORY);
    const feed = this.feed;
    this.last = {
      generation: gen,
      process: proc,
      goVersion: snap.goVersion,
      module: snap.module,
      takenAt: snap.takenAt,
      snapshotMs: snap.durationMs,
      rows,
      total,
      system,
      byStatus: [...counts].map(([status, count]) => ({ status, count })).sort((a, b) => b.count - a.count || (a.status < b.status ? -1 : 1)),
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

  // One object literal per row, always with the same fields in the same
  // order: spreads would build 100k rows in V8's slow dictionary mode.
  private row(g: Goroutine, gen: number, nowMs: number, module: string | null, parkStacks: Map<number, readonly Frame[]>): GoroutineRow {
    const location = topUserFrame(g.frames, module);
    const seen = this.track(g, location, gen, nowMs);
    let blockedMs: number | null = null;
    let blockedExact = false;
    let channel: number | null = null;
    if (isBlockedStatus(g.status)) {
      const park = this.feed?.park(g.id);
      if (park !== undefined && park.reason === g.waitReason) {
        if (park.parkStack) parkStacks.set(g.id, park.parkStack);
        blockedMs = Math.max(0, (this.feed!.nowNs() - park.parkedAtNs) / 1e6);
        blockedExact = true;
        channel = park.channel ?? null;
      } else {
        blockedMs = Math.max(nowMs - seen.since, g.waitMinutes !== null ? g.waitMinutes * 60_000 : 0);
      }
    }
    return { g, id: g.id, state: stateOf(g), blockedMs, blockedExact, location, creator: g.createdBy, channel };
  }

  /** The goroutine's current wait, carried over when unchanged since the last snapshot. */
  private track(g: Goroutine, top: Frame | null, gen: number, nowMs: number): Seen {
    const s = this.seen.get(g.id);
    if (s === undefined) {
      const fresh: Seen = { status: g.status, reason: g.waitReason, top, since: nowMs, gen };
      this.seen.set(g.id, fresh);
      return fresh;
    }
    // Frames are shared objects, but compare by content: the symbolizer may have reset its cache.
    if (s.status !== g.status || s.reason !== g.waitReason || s.top?.function !== top?.function || s.top?.line !== top?.line) {
      s.status = g.status;
      s.reason = g.waitReason;
      s.since = nowMs;
    }
    s.top = top;
    s.gen = gen;
    return s;
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
