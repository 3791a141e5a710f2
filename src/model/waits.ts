// What the wait view (c) shows besides the channels of ModelView: locks,
// proven deadlock cycles, and what the probes saw happen to each channel.
// The snapshot worker sends the analysis only on some refreshes (and the
// deadlock proof less often still), so the last one stays until the next.
import type { ChannelJSON, DeadlockJSON, LockJSON, WaitTargetJSON, WaiterSummary } from '../analysis/json.ts';
import type { ChannelActivity, ProbeFeed } from './probe.ts';

/** The most waiters the wait view lists under an object (the rest are counted). */
export const MAX_LISTED = 1000;

/**
 * The analysis as the TUI receives it: an object's listed waiters cut to
 * MAX_LISTED, with all their goids in a typed array (for the longest
 * BLOCKED) and their counts. 100k waiters would otherwise cross from the
 * worker, and stay in the UI's heap, as 100k objects.
 */
export function capWaiters(channels: readonly ChannelJSON[], locks: readonly LockJSON[]): { channels: ChannelJSON[]; locks: LockJSON[] } {
  const summary = (ws: readonly { goroutine: number }[], counts: [string, number][]): WaiterSummary =>
    ({ goroutines: Float64Array.from(ws, (w) => w.goroutine), counts });
  return {
    channels: channels.map((c) => {
      if (c.senders.length + c.receivers.length <= MAX_LISTED) return c;
      const all = summary([...c.senders, ...c.receivers], [['send', c.senders.length], ['recv', c.receivers.length]]);
      const senders = c.senders.slice(0, MAX_LISTED);
      return { ...c, senders, receivers: c.receivers.slice(0, MAX_LISTED - senders.length), all };
    }),
    locks: locks.map((l) => {
      if (l.waiters.length <= MAX_LISTED) return l;
      const modes = new Map<string, number>();
      for (const w of l.waiters) modes.set(w.mode, (modes.get(w.mode) ?? 0) + 1);
      return { ...l, waiters: l.waiters.slice(0, MAX_LISTED), all: summary(l.waiters, [...modes]) };
    }),
  };
}

/** Senders and receivers of a channel, all of them. */
export function channelWaiterCounts(c: ChannelJSON): { send: number; recv: number } {
  if (!c.all) return { send: c.senders.length, recv: c.receivers.length };
  const n = new Map(c.all.counts);
  return { send: n.get('send') ?? 0, recv: n.get('recv') ?? 0 };
}

/** Goroutines of all the waiters of a channel or lock. */
export function allWaiters(x: ChannelJSON | LockJSON): ArrayLike<number> {
  if (x.all) return x.all.goroutines;
  return 'waiters' in x ? x.waiters.map((w) => w.goroutine) : [...x.senders, ...x.receivers].map((w) => w.goroutine);
}

/** Waiters of a lock per mode, all of them. */
export function lockModeCounts(l: LockJSON): (readonly [string, number])[] {
  if (l.all) return [...l.all.counts];
  const n = new Map<string, number>();
  for (const w of l.waiters) n.set(w.mode, (n.get(w.mode) ?? 0) + 1);
  return [...n];
}

/** The parts of the worker's WaitAnalysis this model reads. */
export interface WaitAnalysisData {
  readonly locks: readonly LockJSON[];
  readonly deadlocks: readonly DeadlockJSON[];
  readonly deadlocksChecked: boolean;
}

export interface WaitExtras {
  readonly locks: readonly LockJSON[];
  readonly deadlocks: readonly DeadlockJSON[];
  /** null until an analysis arrived; false when the proof did not run (too many goroutines, or inconclusive). */
  readonly deadlocksChecked: boolean | null;
  /** Goroutines of a proven cycle → the index of their cycle. */
  readonly deadlocked: ReadonlyMap<number, number>;
  /** What the probes saw of the channel at `address` (hex, as in ChannelJSON). */
  activity(address: string): ChannelActivity | undefined;
  /** The probes' clock now (ChannelActivity times are on it); null without probes. */
  readonly nowNs: number | null;
}

export const NO_WAIT_EXTRAS: WaitExtras = {
  locks: [], deadlocks: [], deadlocksChecked: null, deadlocked: new Map(), activity: () => undefined, nowNs: null,
};

export class WaitModel {
  private last: WaitAnalysisData | null = null;
  private deadlocked: ReadonlyMap<number, number> = new Map();

  /** Folds in one refresh: its analysis (null when skipped: the last one stays) and the probe feed updated for it. */
  ingest(analysis: WaitAnalysisData | null, feed: ProbeFeed | undefined): WaitExtras {
    if (analysis) {
      this.last = analysis;
      const m = new Map<number, number>();
      analysis.deadlocks.forEach((d, i) => d.goroutines.forEach((g) => m.set(g, i)));
      this.deadlocked = m;
    }
    const a = this.last;
    return {
      locks: a?.locks ?? [],
      deadlocks: a?.deadlocks ?? [],
      deadlocksChecked: a ? a.deadlocksChecked : null,
      deadlocked: this.deadlocked,
      activity: feed ? (address) => feed.channel(Number(address)) : () => undefined,
      nowNs: feed ? feed.nowNs() : null,
    };
  }
}

const LOCK_NAMES: Record<string, string> = {
  mutex: 'sync.Mutex', rwmutex: 'sync.RWMutex', waitgroup: 'sync.WaitGroup', cond: 'sync.Cond', sema: 'semaphore',
};

export const lockName = (kind: string): string => LOCK_NAMES[kind] ?? kind;

/** "chan int 0xc000…" or "sync.Mutex 0xc000…"; `elemType` names a channel's element type when known. */
export function targetText(t: WaitTargetJSON, elemType: (address: string) => string | null): string {
  if (t.kind === 'channel') return `chan ${elemType(t.address) ?? '?'} ${t.address}`;
  return `${lockName(t.kind)} ${t.address}`;
}

/** "G7 ⇄ G8" for two, "G7 → G8 → G9 → G7" for a longer walk; then what they wait on. */
export function deadlockSummary(d: DeadlockJSON, elemType: (address: string) => string | null): string {
  const ids = d.path.map((s) => `G${s.goroutine}`);
  const ring = ids.length === 2 ? `${ids[0]} ⇄ ${ids[1]}` : [...ids, ids[0]].join(' → ');
  const via = [...new Set(d.path.map((s) => targetText(s.waitsOn, elemType)))].join(' / ');
  const extra = d.goroutines.length - d.path.length;
  const more = extra > 0 ? ` (+${extra} more goroutine${extra === 1 ? '' : 's'})` : '';
  return `DEADLOCK: ${ring} via ${via}${more}`;
}
