// readWaits: for every goroutine waiting on a channel or a sync object, the
// object itself, read from memory; so it works without probes and for waits
// that began before gtop attached. Goroutines are re-read first: one that
// woke since the snapshot gets an error instead of a stale answer.
import type { BinaryInfo } from '../binary/index.ts';
import { type Goroutine, G_SCAN, G_WAITING, G_LEAKED, type Snapshot } from '../runtime/goroutine.ts';
import type { TargetMemory } from '../target/memory.ts';
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

interface Pending { g: Goroutine; raw: LiveG; wait: GoroutineWait }

/** The channels and sync objects the snapshot's waiting goroutines wait on, read now. */
export function readWaits(src: WaitSource, snap: Snapshot): WaitGraph {
  return whileAlive(snap.pid, () => read(src, snap));
}

function read(src: WaitSource, snap: Snapshot): WaitGraph {
  const st = analysisStatics(src.bin, src.bias);
  const mem = src.memory;
  mem.invalidate();
  const nowNs = Number(process.hrtime.bigint());
  const goidOf = new Map<number, number>();
  for (const g of snap.goroutines) goidOf.set(g.gAddr, g.id);

  const pending: Pending[] = [];
  const byGoroutine = new Map<number, GoroutineWait>();
  for (const g of snap.goroutines) {
    if (g.status !== 'waiting' && g.status !== 'leaked') continue;
    const reason = classifyReason(g.waitReason);
    if (reason === 'other') continue;
    const wait: GoroutineWait = { goid: g.id, reason, waitReason: g.waitReason!, targets: [], blockedMs: null, error: null };
    const raw = rereadG(mem, src.bin, g);
    if (!raw) wait.error = 'the goroutine changed since the snapshot';
    else {
      if (raw.waitsince > 0 && raw.waitsince < nowNs) wait.blockedMs = Math.floor((nowNs - raw.waitsince) / 1e6);
      pending.push({ g, raw, wait });
    }
    byGoroutine.set(g.id, wait);
  }

  const channels = resolveChannels(mem, st, pending, (a) => goidOf.get(a));
  const { locks, semaSource } = resolveLocks(mem, st, pending);
  mem.invalidate();
  return { pid: snap.pid, takenAt: snap.takenAt, channels, locks, byGoroutine, semaSource };
}

/** What readWaits needs of a g, re-read now. */
interface LiveG { addr: number; waiting: number; waitsince: number; schedSp: number; stackHi: number }

/** The goroutine's g, if it is still the same goroutine waiting for the same reason. */
function rereadG(mem: TargetMemory, bin: BinaryInfo, g: Goroutine): LiveG | undefined {
  const L = bin.layout.g;
  const b = readRef(mem, g.gAddr, L.size);
  if (!b) return undefined;
  const o = mem.refOffset;
  const status = b.readUInt32LE(o + L.atomicstatus) & ~G_SCAN;
  if (word(b, o + L.goid) !== g.id || (status !== G_WAITING && status !== G_LEAKED)) return undefined;
  if ((bin.waitReasons[b[o + L.waitreason]!] ?? null) !== g.waitReason) return undefined;
  return { addr: g.gAddr, waiting: word(b, o + L.waiting), waitsince: word(b, o + L.waitsince), schedSp: word(b, o + L.schedSp), stackHi: word(b, o + L.stackHi) };
}

function resolveChannels(mem: TargetMemory, st: AnalysisStatics, pending: Pending[], goidOf: (g: number) => number | undefined): Channel[] {
  const L = st.layout;
  const cases: { p: Pending; sudog: number; c: number }[] = [];
  const addrs = new Set<number>();
  for (const p of pending) {
    if (!isChanWait(p.wait.reason)) continue;
    const sudogs = readWaitingSudogs(mem, L, p.raw.addr, p.raw.waiting, p.wait.reason === 'select' ? undefined : 1);
    if (typeof sudogs === 'string') { p.wait.error = sudogs; continue; }
    if (sudogs.length === 0) { p.wait.error = 'no sudog on g.waiting (the goroutine is waking up)'; continue; }
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
  for (const { p, sudog, c } of cases) {
    const ch = byAddr.get(c);
    if (!ch) { p.wait.error ??= `channel 0x${c.toString(16)} is unreadable`; continue; }
    const queued = ch.queued.get(sudog);
    const op = queued ?? (p.wait.reason === 'chan-send' ? 'send' : p.wait.reason === 'chan-receive' ? 'receive' : 'unknown');
    p.wait.targets.push({ kind: 'channel', addr: c, op });
  }
  return [...byAddr.values()].map((r) => r.channel);
}

function resolveLocks(mem: TargetMemory, st: AnalysisStatics, pending: Pending[]): { locks: LockObject[]; semaSource: WaitGraph['semaSource'] } {
  const L = st.layout;
  const useGWaiting = L.goMinor >= 26;
  let fromTable: Map<number, number> | undefined;
  const objects = new Map<string, LockObject>();
  const add = (p: Pending, t: Extract<WaitTarget, { kind: 'lock' }>, sema: number) => {
    p.wait.targets.push(t);
    const key = `${t.lock}@${t.addr}`;
    let o = objects.get(key);
    if (!o) objects.set(key, (o = { addr: t.addr, kind: t.lock, waiters: [] }));
    o.waiters.push({ goid: p.g.id, mode: t.mode, sema });
  };
  for (const p of pending) {
    const r = p.wait.reason;
    if (!isSemaWait(r) && r !== 'cond') continue;
    let addr: number | undefined;
    if (useGWaiting) {
      const s = readWaitingSudogs(mem, L, p.raw.addr, p.raw.waiting, 1);
      if (typeof s !== 'string' && s.length === 1 && s[0]!.c === 0 && s[0]!.elem !== 0) addr = s[0]!.elem;
    }
    if (addr === undefined && r === 'cond') addr = findCondList(mem, L, p.raw.addr, p.raw.schedSp, p.raw.stackHi, st.isCode);
    if (addr === undefined && r !== 'cond' && st.semtable !== undefined) {
      fromTable ??= semtableWaiters(mem, L, st.semtable);
      addr = fromTable.get(p.raw.addr);
    }
    if (addr === undefined) { p.wait.error = 'the semaphore it waits on was not found'; continue; }
    if (r === 'cond') add(p, { kind: 'lock', addr: addr - L.condNotify, lock: 'cond', mode: 'wait' }, addr);
    else {
      const ref = lockForSema(addr, r, p.g.frames);
      add(p, { kind: 'lock', addr: ref.addr, lock: ref.kind, mode: ref.mode }, addr);
    }
  }
  const semaSource = useGWaiting ? 'g.waiting' : st.semtable !== undefined ? 'semtable' : 'unavailable';
  return { locks: [...objects.values()], semaSource };
}
