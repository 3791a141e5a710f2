// What the live model can take from the eBPF probes, as one small pull
// interface: the model asks once per refresh, after the snapshot. Whoever
// owns a ProbeSession adapts its events and maps to this shape; until then
// the model derives coarser figures from snapshots alone.
import type { Frame } from '../runtime/goroutine.ts';

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
  counters(): ProbeCounters;
  /** Measured cost to the target as a fraction of its CPU time (0.004 = 0.4 %), null until known. */
  overhead(): number | null;
}

/** One refresh's worth of probe answers, as plain data (it crosses from the snapshot worker). */
export interface ProbeFeedData {
  mode: string;
  nowNs: number;
  /** goid → its park, for the goroutines of the snapshot that the probes saw park. */
  parks: readonly (readonly [goid: number, park: ParkRecord])[];
  counters: ProbeCounters;
  overhead: number | null;
}

/** A ProbeFeed answering from the data sent with each snapshot. */
export class ProbeFeedFromData implements ProbeFeed {
  private data: ProbeFeedData;
  private parks = new Map<number, ParkRecord>();

  constructor(first: ProbeFeedData) {
    this.data = first;
    this.set(first);
  }

  /** The data that came with the next snapshot. */
  set(data: ProbeFeedData): void {
    this.data = data;
    this.parks = new Map(data.parks);
  }

  get mode(): string {
    return this.data.mode;
  }
  update(): void {}
  nowNs(): number {
    return this.data.nowNs;
  }
  park(goid: number): ParkRecord | undefined {
    return this.parks.get(goid);
  }
  counters(): ProbeCounters {
    return this.data.counters;
  }
  overhead(): number | null {
    return this.data.overhead;
  }
}
