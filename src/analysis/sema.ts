// Which sync object a goroutine blocked in the semaphore code waits on.
// Go 1.26 records it (g.waiting → sudog, elem = the semaphore or notifyList
// address; sema.go). Before, a semaphore waiter is found in runtime.semtable:
// 251 roots, each a treap of sudogs keyed by address (prev/next children),
// same-address waiters chained through waitlink; and a Cond waiter is queued
// on the Cond's own notifyList, which is found from the Cond pointer that
// sync.(*Cond).Wait keeps on the goroutine's stack.
import type { Frame } from '../runtime/goroutine.ts';
import type { TargetMemory } from '../target/memory.ts';
import type { AnalysisLayout } from './layout.ts';
import type { LockKind, LockMode, WaitReason } from './model.ts';
import { isPointer, readStruct, word } from './read.ts';

const SEMTABLE_ROOTS = 251;
const SEMTABLE_STRIDE = 64;
const MAX_SEMA_WAITERS = 1 << 20;

/** g address → semaphore address, for every goroutine queued in runtime.semtable. */
export function semtableWaiters(mem: TargetMemory, L: AnalysisLayout, semtable: number): Map<number, number> {
  const out = new Map<number, number>();
  const seen = new Set<number>();
  const view = readStruct(mem, semtable, SEMTABLE_ROOTS * SEMTABLE_STRIDE);
  if (!view) return out;
  // Our own copy: walking the treaps loads many chunks, and the cache recycles them.
  const table = Buffer.from(view);
  for (let i = 0; i < SEMTABLE_ROOTS; i++) {
    const stack = [word(table, i * SEMTABLE_STRIDE + L.semaRoot.treap)];
    while (stack.length > 0 && seen.size < MAX_SEMA_WAITERS) {
      const s = stack.pop()!;
      if (s === 0 || !isPointer(s) || seen.has(s)) continue;
      seen.add(s);
      const b = readStruct(mem, s, L.sudog.size);
      if (!b) continue;
      const elem = word(b, L.sudog.elem);
      out.set(word(b, L.sudog.g), elem);
      stack.push(word(b, L.sudog.prev), word(b, L.sudog.next));
      // Waiters on the same address hang off the tree node.
      for (let w = word(b, L.sudog.waitlink); isPointer(w) && !seen.has(w) && seen.size < MAX_SEMA_WAITERS; ) {
        seen.add(w);
        const wb = readStruct(mem, w, L.sudog.size);
        if (!wb || word(wb, L.sudog.elem) !== elem) break;
        out.set(word(wb, L.sudog.g), elem);
        w = word(wb, L.sudog.waitlink);
      }
    }
  }
  return out;
}

const MAX_STACK_WORDS = 1024;
const MAX_LIST = 4096;
const MAX_PROBES = 64;

/**
 * The notifyList a Go ≤1.25 Cond waiter is queued on: a word near the top of
 * its stack that points at a Cond (or its notify field) whose waiter list
 * holds a sudog of this goroutine. Undefined when none is found.
 */
export function findCondList(mem: TargetMemory, L: AnalysisLayout, gAddr: number, sp: number, hi: number, isCode: (v: number) => boolean): number | undefined {
  const n = Math.min(MAX_STACK_WORDS, Math.floor((hi - sp) / 8));
  const view = n > 0 ? readStruct(mem, sp, n * 8) : undefined;
  if (!view) return undefined;
  // Our own copy: the list walks below load chunks, and the cache recycles them.
  const stack = Buffer.from(view);
  const tried = new Set<number>();
  for (let i = 0; i < n && tried.size < MAX_PROBES; i++) {
    const w = word(stack, i * 8);
    if (!isPointer(w) || isCode(w) || (w >= sp && w < hi)) continue;
    for (const list of [w + L.condNotify, w]) {
      if (tried.has(list)) continue;
      tried.add(list);
      if (listHolds(mem, L, list, gAddr)) return list;
    }
  }
  return undefined;
}

/** The list at `list` is a well-formed notifyList (head … tail) holding a sudog of `gAddr`. */
function listHolds(mem: TargetMemory, L: AnalysisLayout, list: number, gAddr: number): boolean {
  const ends = readStruct(mem, list + L.notifyList.head, 16);
  if (!ends) return false;
  const tail = word(ends, L.notifyList.tail - L.notifyList.head);
  let found = false;
  let last = 0;
  for (let s = word(ends, 0), i = 0; s !== 0; i++) {
    if (!isPointer(s) || i >= MAX_LIST) return false;
    const b = readStruct(mem, s, L.sudog.size);
    if (!b) return false;
    found ||= word(b, L.sudog.g) === gAddr;
    last = s;
    s = word(b, L.sudog.next);
  }
  // A word that merely points into a real list (e.g. at its tail field) fails here.
  return found && last === tail;
}

export interface LockRef { addr: number; kind: LockKind; mode: LockMode }

// Offsets of the semaphores inside the sync types (sync/mutex.go, rwmutex.go,
// waitgroup.go; the same for 1.19–1.26 on amd64): Mutex.sema +4,
// RWMutex{w Mutex; writerSem +8; readerSem +12}, WaitGroup sema +8.
const MUTEX_SEMA = 4;
const RW_WRITER_SEM = 8;
const RW_READER_SEM = 12;
const WG_SEMA = 8;

const RE_MUTEX = /^(internal\/)?sync\.\(\*Mutex\)\.(Lock|lockSlow)$/;
const RE_RW_LOCK = /^sync\.\(\*RWMutex\)\.Lock$/;
const RE_RW_RLOCK = /^sync\.\(\*RWMutex\)\.RLock$/;
const RE_WG = /^sync\.\(\*WaitGroup\)\.Wait$/;
const FRAMES_CONSIDERED = 8;

/**
 * The sync object a semaphore waiter blocks on. Frames decide where the
 * reason cannot (1.19 says "semacquire" for all; a writer queued behind
 * another writer waits on RWMutex.w with reason "sync.Mutex.Lock").
 */
export function lockForSema(sema: number, reason: WaitReason, frames: readonly Frame[]): LockRef {
  const fns = frames.slice(0, FRAMES_CONSIDERED).map((f) => f.function);
  const at = (re: RegExp) => fns.findIndex((f) => re.test(f));
  const mutex = at(RE_MUTEX), rwLock = at(RE_RW_LOCK), rwRLock = at(RE_RW_RLOCK), wg = at(RE_WG);
  if (rwRLock >= 0) return { addr: sema - RW_READER_SEM, kind: 'rwmutex', mode: 'rlock' };
  if (rwLock >= 0) {
    const behindWriter = mutex >= 0 && mutex < rwLock;
    return { addr: sema - (behindWriter ? MUTEX_SEMA : RW_WRITER_SEM), kind: 'rwmutex', mode: 'lock' };
  }
  if (wg >= 0) return { addr: sema - WG_SEMA, kind: 'waitgroup', mode: 'wait' };
  if (mutex >= 0) return { addr: sema - MUTEX_SEMA, kind: 'mutex', mode: 'lock' };
  switch (reason) {
    case 'mutex': return { addr: sema - MUTEX_SEMA, kind: 'mutex', mode: 'lock' };
    case 'rwmutex-rlock': return { addr: sema - RW_READER_SEM, kind: 'rwmutex', mode: 'rlock' };
    case 'rwmutex-lock': return { addr: sema - RW_WRITER_SEM, kind: 'rwmutex', mode: 'lock' };
    case 'waitgroup': return { addr: sema - WG_SEMA, kind: 'waitgroup', mode: 'wait' };
    default: return { addr: sema, kind: 'sema', mode: 'acquire' };
  }
}
