// The analysis as JSON for `--once --json`: `channels`, `locks`, `deadlocks`
// and `leakSuspects` (documented in README.md, "Channels, locks, leak
// suspects"). Addresses are hex strings; goroutines are named by goid.
import type { DeadlockCycle } from './deadlock.ts';
import type { LeakSuspect } from './leaks.ts';
import { type LockKind, type LockMode, type WaitGraph, type WaitTarget, hex } from './model.ts';

export interface ChannelJSON {
  address: string;
  elemType: string | null;
  elemSize: number;
  len: number;
  cap: number;
  closed: boolean;
  senders: { goroutine: number; select: boolean }[];
  receivers: { goroutine: number; select: boolean }[];
  truncated: boolean;
}

export interface LockJSON {
  address: string;
  kind: LockKind;
  waiters: { goroutine: number; mode: LockMode }[];
}

export type WaitTargetJSON =
  | { kind: 'channel'; address: string; op: 'send' | 'receive' | 'unknown' }
  | { kind: LockKind; address: string; mode: LockMode };

export interface DeadlockJSON {
  goroutines: number[];
  path: { goroutine: number; waitsOn: WaitTargetJSON; wakers: number[] }[];
  evidence: string[];
}

/** A LeakSuspect with its rates and durations rounded. */
export type LeakSuspectJSON = LeakSuspect;

export interface AnalysisJSON {
  channels: ChannelJSON[];
  locks: LockJSON[];
  deadlocks: DeadlockJSON[];
  leakSuspects: LeakSuspectJSON[];
}

const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

/** Channels with waiters, most waiters first. */
export function channelsToJSON(graph: WaitGraph): ChannelJSON[] {
  return [...graph.channels]
    .sort((a, b) => b.senders.length + b.receivers.length - (a.senders.length + a.receivers.length) || a.addr - b.addr)
    .map((c) => ({
      address: hex(c.addr), elemType: c.elemType, elemSize: c.elemSize, len: c.len, cap: c.cap, closed: c.closed,
      senders: c.senders.map((w) => ({ goroutine: w.goid, select: w.select })),
      receivers: c.receivers.map((w) => ({ goroutine: w.goid, select: w.select })),
      truncated: c.truncated,
    }));
}

/** Sync objects with waiters, most waiters first. */
export function locksToJSON(graph: WaitGraph): LockJSON[] {
  return [...graph.locks]
    .sort((a, b) => b.waiters.length - a.waiters.length || a.addr - b.addr)
    .map((l) => ({ address: hex(l.addr), kind: l.kind, waiters: l.waiters.map((w) => ({ goroutine: w.goid, mode: w.mode })) }));
}

export function targetToJSON(t: WaitTarget): WaitTargetJSON {
  return t.kind === 'channel' ? { kind: 'channel', address: hex(t.addr), op: t.op } : { kind: t.lock, address: hex(t.addr), mode: t.mode };
}

export function deadlocksToJSON(cycles: DeadlockCycle[]): DeadlockJSON[] {
  return cycles.map((c) => ({
    goroutines: c.goroutines,
    path: c.path.map((s) => ({ goroutine: s.goid, waitsOn: targetToJSON(s.waitsOn), wakers: s.wakers })),
    evidence: c.evidence,
  }));
}

export function leakSuspectsToJSON(suspects: LeakSuspect[]): LeakSuspectJSON[] {
  return suspects.map((s) => ({
    ...s, perSecond: round(s.perSecond), windowSeconds: round(s.windowSeconds, 1), oldestSeconds: round(s.oldestSeconds, 1), score: round(s.score),
  }));
}

/** The four arrays for the JSON output; leak suspects need a series of snapshots (empty for a single one). */
export function analysisToJSON(graph: WaitGraph, cycles: DeadlockCycle[], suspects: LeakSuspect[] = []): AnalysisJSON {
  return {
    channels: channelsToJSON(graph), locks: locksToJSON(graph), deadlocks: deadlocksToJSON(cycles), leakSuspects: leakSuspectsToJSON(suspects),
  };
}
