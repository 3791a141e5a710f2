// The --once --duration additions: what the watch adds to the snapshot's
// JSON, per goroutine (blockedSeconds, channel) and at the top level
// (countsByState, created, exited, probes, drops). Fields are documented in
// README.md ("JSON: live fields").
import type { Goroutine, Snapshot } from '../runtime/goroutine.ts';
import type { LiveWatcher } from './watcher.ts';

export interface GoroutineLive {
  /** Seconds since the park the probes saw, at the snapshot; null when the park predates the watch or was not seen whole. */
  blockedSeconds: number | null;
  /** The channel waited on (hex), for channel send/receive waits the probes saw; else null. */
  channel: string | null;
}

export interface LiveReport {
  watchedSeconds: number;
  countsByState: Record<string, number>;
  created: number;
  exited: number;
  createdExact: boolean;
  exitedExact: boolean;
  probes: {
    mode: string;
    attached: string[];
    detached: string[];
    hitsPerSecond: Record<string, number>;
    estimatedOverheadPct: number;
    budgetPct: number;
    changes: { atSeconds: number; probe: string; attached: boolean; why: string }[];
  };
  drops: number;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Per-goroutine live fields; `snapNs` = CLOCK_MONOTONIC when the snapshot began. */
export function goroutineLive(w: LiveWatcher, g: Goroutine, snapNs: number): GoroutineLive {
  if (g.status !== 'waiting') return { blockedSeconds: null, channel: null };
  const park = w.park(g.id);
  // The park must be the wait the snapshot shows: same reason, before the snapshot.
  if (!park || park.parkedAtNs > snapNs || park.reason !== g.waitReason) return { blockedSeconds: null, channel: null };
  return { blockedSeconds: Math.round((snapNs - park.parkedAtNs) / 1e3) / 1e6, channel: park.channel !== undefined ? hex(park.channel) : null };
}

export function liveReport(w: LiveWatcher, visible: readonly Goroutine[], mode: string, budgetPct: number, endNs: number): LiveReport {
  const countsByState: Record<string, number> = {};
  for (const g of visible) countsByState[g.status] = (countsByState[g.status] ?? 0) + 1;
  const t = w.totals();
  return {
    watchedSeconds: Math.round((endNs - w.startNs) / 1e6) / 1e3,
    countsByState,
    created: t.created,
    exited: t.exited,
    createdExact: t.createdExact,
    exitedExact: t.exitedExact,
    probes: {
      mode,
      attached: w.attached(),
      detached: w.detached(),
      hitsPerSecond: w.hitsPerSecond(),
      estimatedOverheadPct: Math.round(w.estimatedOverheadPct() * 1000) / 1000,
      budgetPct,
      changes: w.probeChanges().map((c) => ({ atSeconds: Math.round((c.atNs - w.startNs) / 1e6) / 1e3, probe: c.probe, attached: c.attached, why: c.why })),
    },
    drops: w.drops(),
  };
}

/** Adds the live fields to toJSON's output (goroutines matched by id). */
export function mergeJSON(base: { goroutines: { id: number }[] }, snap: Snapshot, w: LiveWatcher, snapNs: number, report: LiveReport): object {
  const byId = new Map(snap.goroutines.map((g) => [g.id, g]));
  const goroutines = base.goroutines.map((j) => {
    const g = byId.get(j.id);
    return { ...j, ...(g ? goroutineLive(w, g, snapNs) : { blockedSeconds: null, channel: null }) };
  });
  return { ...base, goroutines, ...report };
}
