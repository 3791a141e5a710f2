// What the live model can take from the eBPF probes, as one small pull
// interface: the model asks once per refresh, after the snapshot. Whoever
// owns a ProbeSession adapts its events and maps to this shape; until then
// the model derives coarser figures from snapshots alone.
import type { Frame } from '../runtime/goroutine.ts';
import { indexOfSorted } from '../sorted.ts';

/** What a probe saw when a goroutine last parked (runtime.gopark). */
export interface ParkRecord {
  /** When it parked, on the clock of ProbeFeed.nowNs() (CLOCK_MONOTONIC, like bpf_ktime_get_ns). */
  parkedAtNs: number;
  /** The runtime's wait-reason string for that park. */
  reason: string;
  /** Address of the channel it waits on, when the park was on a channel. */
  channel?: number;
  /** The stack at park time, symbolized, innermost first, when it was captured. */
  parkStack?: readonly Frame[];
}

/** A goroutine and when (ProbeFeed.nowNs() clock) it did something to a channel. */
export interface ChannelTouch {
  goid: number;
  atNs: number;
}

/**
 * What the probes saw happen to one channel since they were attached (or
 * since it was made, when makechan saw that). Counts are of what the probes
 * saw: `wakes` come from runtime.ready for goroutines parked on the channel
 * (every operation that hands off to a waiter, and close), `sends`/`recvs`
 * from probes on chansend/chanrecv when attached (0 and `opsExact` false
 * otherwise).
 */
export interface ChannelActivity {
  /** Where it was made: the makechan call site, symbolized; absent when made before the probe saw it. */
  made?: { atNs: number; goid: number; pc: number; function: string; file: string; line: number };
  sends: number;
  recvs: number;
  /** True when chansend/chanrecv were probed without a break since it was made or since attach. */
  opsExact: boolean;
  lastSend?: ChannelTouch;
  lastRecv?: ChannelTouch;
  /** Goroutines parked on it (gopark with its lock) and woken from it (runtime.ready). */
  parks: number;
  wakes: number;
  /** The last hand-off to a waiter: `waker` woke `woken`. */
  lastWake?: { atNs: number; waker: number; woken: number };
  closed?: ChannelTouch;
}

/** Running totals since the probes were attached; the model turns deltas into rates. */
export interface ProbeCounters {
  created: number;
  exited: number;
  /** Events lost because the ring buffer was full. */
  drops: number;
}

export interface ProbeFeed {
  /** One line for the header, e.g. "uprobes: park ready create exit". */
  readonly mode: string;
  /** Drains pending events; called once per refresh before anything is read. */
  update(): void;
  /** Now, on the clock of ParkRecord.parkedAtNs. */
  nowNs(): number;
  /** The last park of a goroutine still parked, or undefined when the probes did not see it park. */
  park(goid: number): ParkRecord | undefined;
  /** The same for many goroutines at once, in goid order, when the feed has them so (the model merges them with a snapshot). */
  parkColumns?(): ParkColumns;
  counters(): ProbeCounters;
  /** Measured cost to the target as a fraction of its CPU time (0.004 = 0.4 %), null until known. */
  overhead(): number | null;
  /** What the probes saw of the channel at `addr` (its *hchan), undefined when nothing. */
  channel(addr: number): ChannelActivity | undefined;
}

/**
 * Parks in columns, ascending goid: 100k of them cross from the worker as a
 * few typed arrays rather than 100k objects the main thread would rebuild
 * and then collect at every refresh.
 */
export interface ParkColumns {
  readonly goid: Float64Array;
  readonly parkedAtNs: Float64Array;
  /** Index in `reasons`. */
  readonly reason: Uint32Array;
  readonly reasons: readonly string[];
  /** NaN: not parked on a channel. */
  readonly channel: Float64Array;
  /** Park-time stacks, for the goroutines that have one. */
  readonly stacks: readonly (readonly [goid: number, frames: readonly Frame[]])[];
}

export const NO_PARKS: ParkColumns = parkColumns([]);

/** Parks (any order) in columns. */
export function parkColumns(parks: Iterable<readonly [goid: number, park: ParkRecord]>): ParkColumns {
  const list = [...parks].sort((a, b) => a[0] - b[0]);
  const n = list.length;
  const cols = { goid: new Float64Array(n), parkedAtNs: new Float64Array(n), reason: new Uint32Array(n), channel: new Float64Array(n) };
  const reasons: string[] = [];
  const reasonIndex = new Map<string, number>();
  const stacks: [number, readonly Frame[]][] = [];
  list.forEach(([goid, p], k) => {
    cols.goid[k] = goid;
    cols.parkedAtNs[k] = p.parkedAtNs;
    let r = reasonIndex.get(p.reason);
    if (r === undefined) reasonIndex.set(p.reason, (r = reasons.push(p.reason) - 1));
    cols.reason[k] = r;
    cols.channel[k] = p.channel ?? NaN;
    if (p.parkStack) stacks.push([goid, p.parkStack]);
  });
  return { ...cols, reasons, stacks };
}

/** The buffers of the columns, to transfer rather than copy. */
export function parkBuffers(c: ParkColumns): ArrayBuffer[] {
  return [c.goid, c.parkedAtNs, c.reason, c.channel].map((a) => a.buffer as ArrayBuffer);
}

/** The park at position k of the columns, as a record. */
export function parkAt(c: ParkColumns, k: number, stack?: readonly Frame[]): ParkRecord {
  const channel = c.channel[k]!;
  return {
    parkedAtNs: c.parkedAtNs[k]!, reason: c.reasons[c.reason[k]!]!,
    ...(Number.isNaN(channel) ? {} : { channel }), ...(stack ? { parkStack: stack } : {}),
  };
}

/** Every park of the columns, as [goid, record] in goid order. */
export function parkEntries(c: ParkColumns): [goid: number, park: ParkRecord][] {
  const stacks = new Map(c.stacks);
  return Array.from(c.goid, (goid, k) => [goid, parkAt(c, k, stacks.get(goid))]);
}

/** One refresh's worth of probe answers, as plain data (it crosses from the snapshot worker). */
export interface ProbeFeedData {
  mode: string;
  nowNs: number;
  /** The parks of the goroutines of the snapshot that the probes saw park. */
  parks: ParkColumns;
  counters: ProbeCounters;
  overhead: number | null;
  /** *hchan → activity, for the channels of the wait analysis sent with the same snapshot. */
  channels: readonly (readonly [addr: number, activity: ChannelActivity])[];
}

/** A ProbeFeed answering from the data sent with each snapshot. */
export class ProbeFeedFromData implements ProbeFeed {
  private data: ProbeFeedData;
  private stacks = new Map<number, readonly Frame[]>();
  private chans = new Map<number, ChannelActivity>();

  constructor(first: ProbeFeedData) {
    this.data = first;
    this.set(first);
  }

  /** The data that came with the next snapshot. */
  set(data: ProbeFeedData): void {
    this.data = data;
    this.stacks = new Map(data.parks.stacks);
    this.chans = new Map(data.channels);
  }

  get mode(): string {
    return this.data.mode;
  }
  update(): void {}
  nowNs(): number {
    return this.data.nowNs;
  }
  park(goid: number): ParkRecord | undefined {
    const k = indexOfSorted(this.data.parks.goid, goid);
    return k < 0 ? undefined : parkAt(this.data.parks, k, this.stacks.get(goid));
  }
  parkColumns(): ParkColumns {
    return this.data.parks;
  }
  counters(): ProbeCounters {
    return this.data.counters;
  }
  overhead(): number | null {
    return this.data.overhead;
  }
  channel(addr: number): ChannelActivity | undefined {
    return this.chans.get(addr);
  }
}
