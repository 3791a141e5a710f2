// The goroutine model every output reads: what the runtime's own debug=2 dump
// would say about one goroutine, plus what gtop knows beyond it.

export type GoroutineStatus =
  | 'idle'
  | 'runnable'
  | 'running'
  | 'syscall'
  | 'waiting'
  | 'moribund'
  | 'dead'
  | 'enqueue'
  | 'copystack'
  | 'preempted'
  | 'leaked'
  | 'deadextra';

// Index = the runtime's status value with the _Gscan bit masked (runtime2.go).
export const STATUS_NAMES: readonly GoroutineStatus[] = [
  'idle', 'runnable', 'running', 'syscall', 'waiting', 'moribund', 'dead', 'enqueue', 'copystack', 'preempted', 'leaked', 'deadextra',
];
export const G_SCAN = 0x1000;
export const G_RUNNING = 2;
export const G_SYSCALL = 3;
export const G_WAITING = 4;
export const G_DEAD = 6;
export const G_COPYSTACK = 8;
export const G_LEAKED = 10;
export const G_DEADEXTRA = 11;

export interface Frame {
  function: string;
  file: string;
  line: number;
  inlined: boolean;
  /** pc − entry of the physical frame, as the runtime prints `+0x…`; null for inlined frames or pc == entry. */
  offset: number | null;
}

export interface CreatedBy {
  function: string;
  file: string;
  line: number;
  offset: number | null;
}

export interface Goroutine {
  id: number;
  status: GoroutineStatus;
  /** The runtime's raw status value (scan bit included). */
  rawStatus: number;
  /** The runtime's own wait-reason string; null unless status is waiting. */
  waitReason: string | null;
  /** Minutes as the runtime's dump would print them; null when it would print none. */
  waitMinutes: number | null;
  lockedToThread: boolean;
  /** A runtime-internal goroutine that the runtime's dump hides. */
  system: boolean;
  /** Frames as the runtime prints them (runtime internals hidden), innermost first. */
  frames: Frame[];
  /** Why `frames` is empty or partial: "stack unavailable" for a running goroutine, or a read error. */
  stackError: string | null;
  /** True when the runtime would elide frames in the middle (too deep). */
  framesElided: boolean;
  createdBy: CreatedBy | null;
  parentId: number | null;
  labels: Record<string, string>;
  /** Entry function of the goroutine (g.startpc), null when unknown. */
  startFunction: string | null;
  /** Address of the g struct: only for joining with other reads in the same snapshot, never as a key. */
  gAddr: number;
}

export interface Snapshot {
  pid: number;
  exe: string;
  goVersion: string;
  module: string | null;
  takenAt: Date;
  /** Milliseconds spent reading, and the number of read syscalls: for benchmarks and the header. */
  durationMs: number;
  reads: number;
  /** Goroutines that could not be read consistently after retries (counted, not listed). */
  unreadable: number;
  goroutines: Goroutine[];
}
