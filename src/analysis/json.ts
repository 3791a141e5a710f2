// The analysis as JSON for `--once --json`: `channels`, `locks`, `deadlocks`
// and `leakSuspects` (documented in README.md, "Channels, locks, leak
// suspects"). Addresses are hex strings; goroutines are named by goid.
import type { ChannelActivity, ChannelTouch } from '../model/probe.ts';
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
  // Always set by channelsToJSON; optional so that hand-built values (tests, the TUI) need not carry them.
  /** Where it was made (the makechan probe saw it), else null. */
  made?: { function: string; file: string; line: number; goroutine: number; secondsAgo: number } | null;
  /** What the probes saw of it (--duration), else null. */
  activity?: ChannelActivityJSON | null;
  /** In the TUI only: the listed waiters are the first ones, these are all (src/model/waits.ts capWaiters). */
  all?: WaiterSummary;
}

/** Every waiter of an object whose listed waiters were cut: their goids and counts (by op for a channel, by mode for a lock). */
export interface WaiterSummary {
  readonly goroutines: Float64Array;
  readonly counts: readonly (readonly [what: string, n: number])[];
}

export interface TouchJSON { goroutine: number; secondsAgo: number }

export interface ChannelActivityJSON {
  sends: number;
  recvs: number;
  opsExact: boolean;
  parks: number;
  wakes: number;
  lastSend: TouchJSON | null;
  lastRecv: TouchJSON | null;
  lastWake: { waker: number; woken: number; secondsAgo: number } | null;
  closed: TouchJSON | null;
}

/** The probe side, when the JSON comes from a watch: activity per *hchan and the clock its times are on. */
export interface ChannelProbe {
  channel(addr: number): ChannelActivity | undefined;
  nowNs(): number;
}

export interface LockJSON {
  address: string;
  kind: LockKind;
  waiters: { goroutine: number; mode: LockMode }[];
  /** In the TUI only, as ChannelJSON.all. */
  all?: WaiterSummary;
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

const ago = (nowNs: number, atNs: number): number => Math.max(0, Math.round((nowNs - atNs) / 1e6) / 1e3);

function touchJSON(t: ChannelTouch | undefined, nowNs: number): TouchJSON | null {
  return t ? { goroutine: t.goid, secondsAgo: ago(nowNs, t.atNs) } : null;
}

export function activityToJSON(a: ChannelActivity, nowNs: number): Required<Pick<ChannelJSON, 'made' | 'activity'>> {
  return {
    made: a.made ? { function: a.made.function, file: a.made.file, line: a.made.line, goroutine: a.made.goid, secondsAgo: ago(nowNs, a.made.atNs) } : null,
    activity: {
      sends: a.sends, recvs: a.recvs, opsExact: a.opsExact, parks: a.parks, wakes: a.wakes,
      lastSend: touchJSON(a.lastSend, nowNs), lastRecv: touchJSON(a.lastRecv, nowNs),
      lastWake: a.lastWake ? { waker: a.lastWake.waker, woken: a.lastWake.woken, secondsAgo: ago(nowNs, a.lastWake.atNs) } : null,
      closed: touchJSON(a.closed, nowNs),
    },
  };
}

/** Channels with waiters, most waiters first; with `probe`, what the probes saw of each. */
export function channelsToJSON(graph: WaitGraph, probe?: ChannelProbe): ChannelJSON[] {
  const nowNs = probe?.nowNs() ?? 0;
  return [...graph.channels]
    .sort((a, b) => b.senders.length + b.receivers.length - (a.senders.length + a.receivers.length) || a.addr - b.addr)
    .map((c) => ({
      address: hex(c.addr), elemType: c.elemType, elemSize: c.elemSize, len: c.len, cap: c.cap, closed: c.closed,
      senders: c.senders.map((w) => ({ goroutine: w.goid, select: w.select })),
      receivers: c.receivers.map((w) => ({ goroutine: w.goid, select: w.select })),
      truncated: c.truncated,
      ...(probe ? activityFor(probe, c.addr, nowNs) : { made: null, activity: null }),
    }));
}

function activityFor(probe: ChannelProbe, addr: number, nowNs: number): Required<Pick<ChannelJSON, 'made' | 'activity'>> {
  const a = probe.channel(addr);
  return a ? activityToJSON(a, nowNs) : { made: null, activity: null };
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
export function analysisToJSON(graph: WaitGraph, cycles: DeadlockCycle[], suspects: LeakSuspect[] = [], probe?: ChannelProbe): AnalysisJSON {
  return {
    channels: channelsToJSON(graph, probe), locks: locksToJSON(graph), deadlocks: deadlocksToJSON(cycles), leakSuspects: leakSuspectsToJSON(suspects),
  };
}
