// What goroutines wait on: the model every analysis output reads. Addresses
// are run-time addresses in the target; they identify an object within one
// process lifetime only (the GC may reuse the memory of a dead channel).

/** What a waiting goroutine waits for, from the runtime's wait-reason string (and frames where Go 1.19 only says "semacquire"). */
export type WaitReason =
  | 'chan-send' | 'chan-receive' | 'select'
  | 'nil-chan-send' | 'nil-chan-receive' | 'select-no-cases'
  | 'mutex' | 'rwmutex-rlock' | 'rwmutex-lock' | 'waitgroup' | 'cond' | 'semacquire'
  | 'other';

export interface ChanWaiter {
  goid: number;
  /** Waiting in a select, which may wake through another of its cases. */
  select: boolean;
}

export interface Channel {
  addr: number;
  /** Element type as the runtime names it ("int", "main.job", "*http.Request"); null when unreadable. */
  elemType: string | null;
  elemSize: number;
  /** Buffered elements (hchan.qcount) and capacity (dataqsiz; 0 = unbuffered). */
  len: number;
  cap: number;
  closed: boolean;
  /** Ring-buffer indexes: with len, what tells a moving buffered channel from a stuck one. */
  sendx: number;
  recvx: number;
  /** Blocked senders and receivers in queue order (first = next to be served). */
  senders: ChanWaiter[];
  receivers: ChanWaiter[];
  /** A queue walk stopped early: the queue changed while read, or was implausibly long. */
  truncated: boolean;
}

export type LockKind = 'mutex' | 'rwmutex' | 'waitgroup' | 'cond' | 'sema';
/** lock: Mutex.Lock or RWMutex.Lock; rlock: RWMutex.RLock; wait: WaitGroup.Wait or Cond.Wait; acquire: a bare semaphore. */
export type LockMode = 'lock' | 'rlock' | 'wait' | 'acquire';

export interface LockWaiter {
  goid: number;
  mode: LockMode;
  /** The semaphore (or Cond notifyList) address the goroutine is queued on. */
  sema: number;
}

export interface LockObject {
  /** Address of the sync.Mutex / RWMutex / WaitGroup / Cond (of the semaphore itself for kind "sema"). */
  addr: number;
  kind: LockKind;
  waiters: LockWaiter[];
}

export type WaitTarget =
  | { kind: 'channel'; addr: number; op: 'send' | 'receive' | 'unknown' }
  | { kind: 'lock'; addr: number; lock: LockKind; mode: LockMode };

export interface GoroutineWait {
  goid: number;
  reason: WaitReason;
  /** The runtime's own wait-reason string. */
  waitReason: string;
  /** The objects it waits on: one channel, every channel of a select, or one lock. Empty for nil channels and `select {}`. */
  /** Shared between goroutines that wait on the same objects: never modified. */
  targets: readonly WaitTarget[];
  /** Milliseconds it has been blocked at least (from g.waitsince, which the GC stamps); null when not stamped. */
  blockedMs: number | null;
  /** Why targets is empty although the wait has an object (e.g. the goroutine woke while being read). */
  error: string | null;
}

export interface WaitGraph {
  pid: number;
  takenAt: Date;
  /** Every channel a goroutine waits on, including all channels of a select. */
  channels: Channel[];
  locks: LockObject[];
  /** Waiting goroutines by goid (only those whose reason is a channel or sync wait). */
  byGoroutine: Map<number, GoroutineWait>;
  /** How lock waiters were tied to objects: "g.waiting" (Go 1.26), "semtable" or "unavailable". */
  semaSource: 'g.waiting' | 'semtable' | 'unavailable';
}

const REASONS: Record<string, WaitReason> = {
  'chan send': 'chan-send', 'chan send (synctest)': 'chan-send', 'chan send (durable)': 'chan-send',
  'chan receive': 'chan-receive', 'chan receive (synctest)': 'chan-receive', 'chan receive (durable)': 'chan-receive',
  'select': 'select', 'select (synctest)': 'select', 'select (durable)': 'select',
  'chan send (nil chan)': 'nil-chan-send', 'chan receive (nil chan)': 'nil-chan-receive', 'select (no cases)': 'select-no-cases',
  'sync.Mutex.Lock': 'mutex', 'sync.RWMutex.RLock': 'rwmutex-rlock', 'sync.RWMutex.Lock': 'rwmutex-lock',
  'sync.WaitGroup.Wait': 'waitgroup', 'sync.WaitGroup.Wait (durable)': 'waitgroup',
  'sync.Cond.Wait': 'cond', 'semacquire': 'semacquire',
};

/** Classifies the runtime's wait-reason string. */
export function classifyReason(waitReason: string | null): WaitReason {
  return (waitReason !== null && REASONS[waitReason]) || 'other';
}

export const isChanWait = (r: WaitReason): boolean => r === 'chan-send' || r === 'chan-receive' || r === 'select';
export const isSemaWait = (r: WaitReason): boolean =>
  r === 'mutex' || r === 'rwmutex-rlock' || r === 'rwmutex-lock' || r === 'waitgroup' || r === 'semacquire';
/** Waits that can never end: nil channels and `select {}`. */
export const isPermanentWait = (r: WaitReason): boolean => r === 'nil-chan-send' || r === 'nil-chan-receive' || r === 'select-no-cases';

export const hex = (addr: number): string => `0x${addr.toString(16)}`;
