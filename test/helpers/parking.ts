// What test/go/parking parks, and how the runtime's dump shows each kind per
// Go version. A goroutine is identified by its first frame in package main.

import type { OracleGoroutine } from './oracle.ts';

export interface ParkingKind {
  /** The first `main.` frame of such a goroutine (generic functions: up to "["). */
  func: string;
  count: number;
  /** The dump's bracket status for Go 1.<minor>. */
  status(minor: number): string;
}

const fixed = (s: string) => () => s;
const since = (minor: number, now: string, before: string) => (m: number) => (m >= minor ? now : before);

export const PARKING_KINDS: readonly ParkingKind[] = [
  { func: 'main.main', count: 1, status: fixed('select (no cases)') },
  { func: 'main.chanSend', count: 3, status: fixed('chan send') },
  { func: 'main.chanRecv', count: 2, status: fixed('chan receive') },
  { func: 'main.chanSendBuffered', count: 2, status: fixed('chan send') },
  { func: 'main.chanSendNil', count: 2, status: fixed('chan send (nil chan)') },
  { func: 'main.chanRecvNil', count: 2, status: fixed('chan receive (nil chan)') },
  { func: 'main.selectTwo', count: 1, status: fixed('select') },
  { func: 'main.selectThree', count: 1, status: fixed('select') },
  { func: 'main.selectEmpty', count: 2, status: fixed('select (no cases)') },
  { func: 'main.mutexLock', count: 2, status: since(20, 'sync.Mutex.Lock', 'semacquire') },
  { func: 'main.rwLock', count: 1, status: since(20, 'sync.RWMutex.Lock', 'semacquire') },
  { func: 'main.rwRLock', count: 2, status: since(20, 'sync.RWMutex.RLock', 'semacquire') },
  { func: 'main.wgWait', count: 2, status: since(24, 'sync.WaitGroup.Wait', 'semacquire') },
  { func: 'main.condWait', count: 2, status: fixed('sync.Cond.Wait') },
  { func: 'main.sleepLong', count: 2, status: fixed('sleep') },
  { func: 'main.netRead', count: 1, status: fixed('IO wait') },
  // recvInline is inlined into chainC and shown above it as "main.recvInline(...)".
  { func: 'main.recvInline', count: 1, status: fixed('chan receive') },
  { func: 'main.genericRecv', count: 1, status: fixed('chan receive') },
  { func: 'main.spawner', count: 1, status: fixed('chan receive') },
  { func: 'main.spawnedChild', count: 1, status: fixed('chan receive') },
  { func: 'main.startClosure.func1', count: 1, status: fixed('chan receive') },
  { func: 'main.(*methodParker).park', count: 1, status: fixed('chan receive') },
  { func: 'main.labelled.func1', count: 1, status: fixed('chan receive') },
  { func: 'main.lockedToThread', count: 1, status: fixed('chan receive') },
  { func: 'main.panicPark.func1', count: 1, status: fixed('chan receive') },
  { func: 'main.deepRecurse', count: 1, status: fixed('chan receive') },
];

/** Never parked: their status is runnable or running, and varies. */
export const SPINNERS: readonly { func: string; count: number }[] = [
  { func: 'main.spinGosched', count: 2 },
  { func: 'main.spinTight', count: 1 },
];

/** The first frame in package main, without generic brackets; null if none. */
export function firstMainFrame(g: OracleGoroutine): string | null {
  const f = g.frames.find((fr) => fr.function.startsWith('main.'));
  if (f === undefined) return null;
  const bracket = f.function.indexOf('[');
  return bracket < 0 ? f.function : f.function.slice(0, bracket);
}

/** The goroutines of the dump whose first main frame is `func`. */
export function goroutinesOf(gs: readonly OracleGoroutine[], func: string): OracleGoroutine[] {
  return gs.filter((g) => firstMainFrame(g) === func);
}
