// readWaits: for every goroutine waiting on a channel or a sync object, the
// object itself, read from memory; so it works without probes and for waits
// that began before gtop attached. Goroutines are re-read first: one that
// woke since the snapshot gets an error instead of a stale answer.
import type { BinaryInfo } from '../binary/index.ts';
import { type GoroutineIndex, goroutineIndex } from '../runtime/compact.ts';
import { G_SCAN, G_WAITING, G_LEAKED, type Snapshot } from '../runtime/goroutine.ts';
import type { TargetMemory } from '../target/memory.ts';
import { indexOfSorted } from '../sorted.ts';
import { readChannel, readWaitingSudogs } from './channels.ts';
import {
  type Channel, type GoroutineWait, type LockObject, type WaitGraph, type WaitTarget,
  classifyReason, isChanWait, isSemaWait,
} from './model.ts';
import { readRef, whileAlive, word } from './read.ts';
import { findCondList, lockForSema, semtableWaiters } from './sema.ts';
import { type AnalysisStatics, analysisStatics } from './statics.ts';

/** What readWaits reads from: a Session, or its parts. */
export interface WaitSource {
  readonly bin: BinaryInfo;
  readonly bias: number;
  readonly memory: TargetMemory;
}

/**
 * The waiting goroutines still to resolve, in columns (at 100k goroutines,
 * one object per goroutine with its re-read g fields was ~15 MB at the peak).
 */
interface Pending {
  /** Goroutines by their index in the snapshot (GoroutineIndex). */
  gs: GoroutineIndex;
  at: number[];
  waits: GoroutineWait[];
  /** Of the g, re-read now: g.waiting, sched.sp, stack.hi. */
  waiting: number[];
  schedSp: number[];
  stackHi: number[];
}

/** The channels and sync objects the snapshot's waiting goroutines wait on, read now. */
export function readWaits(src: WaitSource, snap: Snapshot): WaitGraph {
  return whileAlive(snap.pid, () => read(src, snap));
}

function read(src: WaitSource, snap: Snapshot): WaitGraph {
  const st = analysisStatics(src.bin, src.bias);
  const mem = src.memory;
  mem.invalidate();
  const nowNs = Number(process.hrtime.bigint());
  const gs = goroutineIndex(snap);
  const pending: Pending = { gs, at: [], waits: [], waiting: [], schedSp: [], stackHi: [] };
  const byGoroutine = new Map<number, GoroutineWait>();
  for (let i = 0; i < gs.length; i++) {
    const status = gs.status(i);
    if (status !== 'waiting' && status !== 'leaked') continue;
    const waitReason = gs.waitReason(i);
    const reason = classifyReason(waitReason);
    if (reason === 'other') continue;
    const goid = gs.id(i);
    const wait: GoroutineWait = { goid, reason, waitReason: waitReason!, targets: NO_TARGETS, blockedMs: null, error: null };
    const waitsince = rereadG(mem, src.bin, gs.gAddr(i), goid, waitReason, pending);
    if (waitsince === undefined) wait.error = 'the goroutine changed since the snapshot';
    else {
      if (waitsince > 0 && waitsince < nowNs) wait.blockedMs = Math.floor((nowNs - waitsince) / 1e6);
      pending.at.push(i);
      pending.waits.push(wait);
    }
    byGoroutine.set(goid, wait);
  }

  const targets = new TargetLists();
  const channels = resolveChannels(mem, st, pending, goidsByAddress(gs), targets);
  const { locks, semaSource } = resolveLocks(mem, st, pending, targets);
  mem.invalidate();
  return { pid: snap.pid, takenAt: snap.takenAt, channels, locks, byGoroutine, semaSource };
}

const NO_TARGETS: readonly WaitTarget[] = Object.freeze([]);

/**
 * One targets array (and target objects) shared by every goroutine waiting
 * on the same objects: 100k goroutines wait on a handful.
 */
class TargetLists {
  private readonly lists = new Map<string, readonly WaitTarget[]>();

  of(list: WaitTarget[]): readonly WaitTarget[] {
    if (list.length === 0) return NO_TARGETS;
    const key = list.map((t) => (t.kind === 'channel' ? `${t.addr}${t.op}` : `${t.addr}${t.lock}${t.mode}`)).join(',');
    let shared = this.lists.get(key);
    if (!shared) this.lists.set(key, (shared = Object.freeze(list)));
    return shared;
  }
}

/** g address → goid over the snapshot: sorted columns rather than a 100k-entry Map keyed by heap numbers. */
function goidsByAddress(gs: GoroutineIndex): (gAddr: number) => number | undefined {
  const n = gs.length;
  const addrs = new Float64Array(n);
  for (let i = 0; i < n; i++) addrs[i] = gs.gAddr(i);
  addrs.sort();
  const ids = new Float64Array(n).fill(NaN);
  const find = (a: number): number => indexOfSorted(addrs, a);
  for (let i = 0; i < n; i++) ids[find(gs.gAddr(i))] = gs.id(i);
  return (a) => {
    const i = find(a);
    return i < 0 || Number.isNaN(ids[i]!) ? undefined : ids[i];
  };
}

/** If the g at `gAddr` is still goroutine `goid` waiting for the same reason: its g.waitsince, and its g fields appended to `into`. */
function rereadG(mem: TargetMemory, bin: BinaryInfo, gAddr: number, goid: number, waitReason: string | null, into: Pending): number | undefined {
  const L = bin.layout.g;
  const b = readRef(mem, gAddr, L.size);
  if (!b) return undefined;
  const o = mem.refOffset;
  const status = b.readUInt32LE(o + L.atomicstatus) & ~G_SCAN;
  if (word(b, o + L.goid) !== goid || (status !== G_WAITING && status !== G_LEAKED)) return undefined;
  if ((bin.waitReasons[b[o + L.waitreason]!] ?? null) !== waitReason) return undefined;
  into.waiting.push(word(b, o + L.waiting));
  into.schedSp.push(word(b, o + L.schedSp));
  into.stackHi.push(word(b, o + L.stackHi));
  return word(b, o + L.waitsince);
}

function resolveChannels(
  mem: TargetMemory, st: AnalysisStatics, pending: Pending, goidOf: (g: number) => number | undefined, targets: TargetLists,
): Channel[] {
  const L = st.layout;
  // The cases of one goroutine are consecutive.
  const cases: { p: number; sudog: number; c: number }[] = [];
  const addrs = new Set<number>();
  for (let p = 0; p < pending.at.length; p++) {
    const wait = pending.waits[p]!;
    if (!isChanWait(wait.reason)) continue;
    const sudogs = readWaitingSudogs(mem, L, pending.gs.gAddr(pending.at[p]!), pending.waiting[p]!, wait.reason === 'select' ? undefined : 1);
    if (typeof sudogs === 'string') { wait.error = sudogs; continue; }
    if (sudogs.length === 0) { wait.error = 'no sudog on g.waiting (the goroutine is waking up)'; continue; }
    for (const s of sudogs) {
      cases.push({ p, sudog: s.addr, c: s.c });
      addrs.add(s.c);
    }
  }
  const byAddr = new Map<number, { channel: Channel; queued: Map<number, 'send' | 'receive'> }>();
  for (const a of addrs) {
    const r = readChannel(mem, L, a, st.types, goidOf);
    if (r) byAddr.set(a, r);
  }
  let list: WaitTarget[] = [];
  for (let i = 0; i < cases.length; i++) {
    const { p, sudog, c } = cases[i]!;
    const wait = pending.waits[p]!;
    const ch = byAddr.get(c);
    if (!ch) wait.error ??= `channel 0x${c.toString(16)} is unreadable`;
    else {
      const op = ch.queued.get(sudog) ?? (wait.reason === 'chan-send' ? 'send' : wait.reason === 'chan-receive' ? 'receive' : 'unknown');
      list.push({ kind: 'channel', addr: c, op });
    }
    if (cases[i + 1]?.p !== p) {
      wait.targets = targets.of(list);
      list = [];
    }
  }
  return [...byAddr.values()].map((r) => r.channel);
}

function resolveLocks(
  mem: TargetMemory, st: AnalysisStatics, pending: Pending, targets: TargetLists,
): { locks: LockObject[]; semaSource: WaitGraph['semaSource'] } {
  const L = st.layout;
  const useGWaiting = L.goMinor >= 26;
  let fromTable: Map<number, number> | undefined;
  const objects = new Map<string, LockObject>();
  const add = (p: number, t: Extract<WaitTarget, { kind: 'lock' }>, sema: number) => {
    pending.waits[p]!.targets = targets.of([t]);
    const key = `${t.lock}@${t.addr}`;
    let o = objects.get(key);
    if (!o) objects.set(key, (o = { addr: t.addr, kind: t.lock, waiters: [] }));
    o.waiters.push({ goid: pending.gs.id(pending.at[p]!), mode: t.mode, sema });
  };
  for (let p = 0; p < pending.at.length; p++) {
    const wait = pending.waits[p]!;
    const gAddr = pending.gs.gAddr(pending.at[p]!);
    const r = wait.reason;
    if (!isSemaWait(r) && r !== 'cond') continue;
    let addr: number | undefined;
    if (useGWaiting) {
      const s = readWaitingSudogs(mem, L, gAddr, pending.waiting[p]!, 1);
      if (typeof s !== 'string' && s.length === 1 && s[0]!.c === 0 && s[0]!.elem !== 0) addr = s[0]!.elem;
    }
    if (addr === undefined && r === 'cond') addr = findCondList(mem, L, gAddr, pending.schedSp[p]!, pending.stackHi[p]!, st.isCode);
    if (addr === undefined && r !== 'cond' && st.semtable !== undefined) {
      fromTable ??= semtableWaiters(mem, L, st.semtable);
      addr = fromTable.get(gAddr);
    }
    if (addr === undefined) { wait.error = 'the semaphore it waits on was not found'; continue; }
    if (r === 'cond') add(p, { kind: 'lock', addr: addr - L.condNotify, lock: 'cond', mode: 'wait' }, addr);
    else {
      const ref = lockForSema(addr, r, pending.gs.frames(pending.at[p]!));
      add(p, { kind: 'lock', addr: ref.addr, lock: ref.kind, mode: ref.mode }, addr);
    }
  }
  const semaSource = useGWaiting ? 'g.waiting' : st.semtable !== undefined ? 'semtable' : 'unavailable';
  return { locks: [...objects.values()], semaSource };
}
