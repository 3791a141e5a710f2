// The overhead budget: cost = Σ hits/s × cost per hit (src/live/costs.ts),
// as a share of one CPU, kept as a token bucket holding one second of budget
// (so a burst — 300 goroutines exiting at once — is not "over budget", a
// sustained rate is). Bucket empty → detach the hottest probes until the
// rest fit the budget's rate. A detached probe is re-sampled briefly and
// judged by the rate it showed during the sample (not by the bucket, which
// refilled while it was detached): over budget → detached again at once and
// the next sample twice as far away; within → kept. Samples are spaced so
// that they, including the kernel's detach latency and the attach/detach
// work itself, take at most half the budget on average. And a probe detached
// as too hot is re-sampled only when the target's CPU use (a cheap proxy of
// its load, fed by the caller) fell enough that its rate would now fit, or
// after maxBackoffMs as a safety net: on an HTTP server at a steady load every
// re-sample was wasted (each detached again at once) and the samples cost the
// server far more than their counted hits (bench/overhead, README).
// Pure: the caller feeds it cumulative per-probe cost and hit totals and
// applies the returned actions.
import type { ProbeName } from '../bpf/session.ts';

export interface ProbeTotals {
  /** Cumulative hits of the probe's sites since attach. */
  hits: number;
  /** Cumulative estimated cost in ns (Σ site hits × site cost). */
  costNs: number;
}

/**
 * Measured (bench/overhead's ping-pong, ops per 10 ms): after bpf_link__destroy
 * starts, the target keeps paying for its probe for ~230 ms, until the kernel
 * removes the breakpoint, which it does only after an RCU grace period.
 */
export const DETACH_LATENCY_MS = 230;
/**
 * Target CPU one attach + detach cycle of a probe costs beyond its counted
 * hits (text-page rewrites, the trap on hits the BPF program no longer
 * sees). Rough: a never-hit probe cycled twice a second raised the HTTP
 * server's CPU per request by ~5 % (bench/overhead's setup, noisy VM).
 */
export const CYCLE_COST_NS = 20_000_000;
/** Share of the budget that re-samples of hot probes may take on average. */
const SAMPLE_SHARE = 0.5;

export interface GovernorAction { probe: ProbeName; attach: boolean; why: string }

interface ProbeState {
  attached: boolean;
  /** Last measured rates while attached. */
  hitsPerSec: number;
  costNsPerSec: number;
  last: ProbeTotals;
  /** When a detached probe is next re-sampled (ms); when a sample ends. */
  nextSampleAt: number;
  sampleUntil: number;
  backoffMs: number;
  detaches: number;
  /** Totals over the time attached, for the mean rate. */
  attachedMs: number;
  attachedHits: number;
  /**
   * The target's CPU use (CPUs) once the probe was detached (a window wholly
   * after the detach took effect: with the probe on, its own cost inflates it).
   */
  loadAtDetach: number | undefined;
  detachedAt: number;
  /** A sample is taken then even if the load says it would not fit. */
  forceSampleAt: number;
}

export interface GovernorOptions {
  budgetPct: number;
  /** Burst allowance, seconds of budget (default 1). */
  burstSeconds?: number;
  /** First re-sample this long after a detach; doubles while still too hot. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  sampleMs?: number;
  /** How often the caller ticks (a sample lasts until the first tick after sampleMs). */
  tickMs?: number;
  /** The window over which the caller's `load` is measured. */
  loadWindowMs?: number;
}

export class Governor {
  private readonly probes = new Map<ProbeName, ProbeState>();
  private lastAt: number;
  private readonly startAt: number;
  private totalCostNs = 0;
  private tokensNs: number;
  /** The target's CPU use, CPUs, as last fed by the caller; undefined: unknown. */
  private load: number | undefined;
  private readonly opts: Required<GovernorOptions>;

  constructor(names: readonly ProbeName[], nowMs: number, opts: GovernorOptions) {
    this.opts = { loadWindowMs: 2000, minBackoffMs: 2000, maxBackoffMs: 32_000, sampleMs: 100, tickMs: 50, burstSeconds: 1, ...opts };
    this.tokensNs = this.capacityNs();
    for (const n of names) {
      this.probes.set(n, { attached: true, hitsPerSec: 0, costNsPerSec: 0, last: { hits: 0, costNs: 0 }, nextSampleAt: 0, sampleUntil: 0, backoffMs: this.opts.minBackoffMs, detaches: 0, attachedMs: 0, attachedHits: 0, loadAtDetach: undefined, detachedAt: 0, forceSampleAt: 0 });
    }
    this.lastAt = this.startAt = nowMs;
  }

  /**
   * Folds in the totals read now; returns what to detach or re-attach.
   * `load`: the target's CPU use now (CPUs, e.g. from /proc/PID/stat), if known.
   */
  tick(nowMs: number, totals: ReadonlyMap<ProbeName, ProbeTotals>, load?: number): GovernorAction[] {
    if (load !== undefined) this.load = load;
    const dt = (nowMs - this.lastAt) / 1000;
    if (dt <= 0) return [];
    this.lastAt = nowMs;
    let spent = 0;
    for (const [name, st] of this.probes) {
      const t = totals.get(name) ?? st.last;
      const dCost = Math.max(0, t.costNs - st.last.costNs);
      spent += dCost;
      if (st.attached) {
        const dHits = Math.max(0, t.hits - st.last.hits);
        st.hitsPerSec = dHits / dt;
        st.costNsPerSec = dCost / dt;
        st.attachedMs += dt * 1000;
        st.attachedHits += dHits;
      }
      st.last = { hits: t.hits, costNs: t.costNs };
    }
    this.totalCostNs += spent;
    this.tokensNs = Math.min(this.capacityNs(), this.tokensNs + this.budgetNsPerSec() * dt) - spent;
    const actions = this.shed(nowMs);
    return actions.length > 0 ? actions : this.resample(nowMs);
  }

  /**
   * Ends samples (a sampled probe whose rate is over budget goes at once; one
   * that fits for the whole sample stays), then detaches the hottest attached
   * probes while the bucket is empty and the estimate does not fit.
   */
  private shed(nowMs: number): GovernorAction[] {
    const budget = this.budgetNsPerSec();
    const out: GovernorAction[] = [];
    const attached = [...this.probes].filter(([, s]) => s.attached).sort((a, b) => b[1].costNsPerSec - a[1].costNsPerSec);
    for (const [name, st] of attached) {
      if (st.sampleUntil === 0) continue;
      if (st.costNsPerSec > budget) out.push(this.detach(name, st, nowMs, true));
      else if (nowMs >= st.sampleUntil) {
        st.sampleUntil = 0;
        st.backoffMs = this.opts.minBackoffMs;
      }
    }
    let sum = attached.reduce((a, [, s]) => a + (s.attached ? s.costNsPerSec : 0), 0);
    for (const [name, st] of attached) {
      if (!st.attached) continue;
      if (this.tokensNs >= 0 || sum <= budget) break;
      sum -= st.costNsPerSec;
      out.push(this.detach(name, st, nowMs, false));
    }
    return out;
  }

  private detach(name: ProbeName, st: ProbeState, nowMs: number, sampling: boolean): GovernorAction {
    st.backoffMs = sampling ? Math.min(this.opts.maxBackoffMs, st.backoffMs * 2) : this.opts.minBackoffMs;
    st.attached = false;
    st.sampleUntil = 0;
    // A re-sample of a hot probe costs its rate for the sample (rounded up
    // to ticks) plus the kernel's detach latency; space samples so that they
    // alone stay within their share of the budget, not only by the back-off.
    const sampleCostNs = st.costNsPerSec * ((this.opts.sampleMs + this.opts.tickMs + DETACH_LATENCY_MS) / 1000) + CYCLE_COST_NS;
    const spacingMs = (sampleCostNs / (this.budgetNsPerSec() * SAMPLE_SHARE)) * 1000;
    st.nextSampleAt = nowMs + Math.max(st.backoffMs, spacingMs);
    st.forceSampleAt = nowMs + Math.max(this.opts.maxBackoffMs, spacingMs);
    st.loadAtDetach = undefined;
    st.detachedAt = nowMs;
    // The books: what the hits the BPF program does not count any more (the
    // kernel's detach latency) and the cycle itself cost, as estimated.
    this.totalCostNs += st.costNsPerSec * (DETACH_LATENCY_MS / 1000) + CYCLE_COST_NS;
    st.detaches++;
    return { probe: name, attach: false, why: `${fmtPct(st.costNsPerSec)} of a CPU at ${Math.round(st.hitsPerSec)} hits/s is over the ${this.opts.budgetPct}% budget` };
  }

  private budgetNsPerSec(): number {
    return (this.opts.budgetPct / 100) * 1e9;
  }

  private capacityNs(): number {
    return this.budgetNsPerSec() * this.opts.burstSeconds;
  }

  /**
   * Re-attaches detached probes whose back-off expired, for one short sample,
   * unless the target's load says the rate would still be over budget.
   */
  private resample(nowMs: number): GovernorAction[] {
    const out: GovernorAction[] = [];
    for (const [name, st] of this.probes) {
      if (st.attached) continue;
      if (st.loadAtDetach === undefined && this.load !== undefined && nowMs >= st.detachedAt + DETACH_LATENCY_MS + this.opts.loadWindowMs) st.loadAtDetach = this.load;
      if (nowMs < st.nextSampleAt) continue;
      if (nowMs < st.forceSampleAt && this.load !== undefined) {
        // Hit rates scale with the work done, roughly: at the same load the
        // sample would only be detached again, at the cost of a cycle.
        if (st.loadAtDetach === undefined) continue;
        if (st.loadAtDetach > 0 && st.costNsPerSec * (this.load / st.loadAtDetach) > this.budgetNsPerSec()) continue;
      }
      st.attached = true;
      st.sampleUntil = nowMs + this.opts.sampleMs;
      out.push({ probe: name, attach: true, why: 're-sampling the rate' });
    }
    return out;
  }

  /** A probe the caller could not re-attach stays detached. */
  markDetached(name: ProbeName, nowMs: number): void {
    const st = this.probes.get(name);
    if (!st) return;
    st.attached = false;
    st.nextSampleAt = nowMs + this.opts.maxBackoffMs;
  }

  isAttached(name: ProbeName): boolean {
    return this.probes.get(name)?.attached ?? false;
  }

  /** Current estimate of the attached probes' cost, % of one CPU. */
  currentPct(): number {
    let s = 0;
    for (const st of this.probes.values()) if (st.attached) s += st.costNsPerSec;
    return (s / 1e9) * 100;
  }

  /** Average estimated cost since start, % of one CPU. */
  averagePct(nowMs: number): number {
    const secs = (nowMs - this.startAt) / 1000;
    return secs > 0 ? (this.totalCostNs / 1e9 / secs) * 100 : 0;
  }

  /** Hits per second per probe, mean over the time it was attached. */
  hitsPerSecond(): Record<string, number> {
    // Mean over the time each probe was attached (detached probes: their samples).
    return Object.fromEntries([...this.probes].map(([n, s]) => [n, s.attachedMs > 0 ? Math.round((s.attachedHits * 1000) / s.attachedMs) : 0]));
  }

  /** Probes detached at least once (their facts are then only partly exact). */
  everDetached(): ProbeName[] {
    return [...this.probes].filter(([, s]) => s.detaches > 0).map(([n]) => n);
  }
}

function fmtPct(costNsPerSec: number): string {
  return `${((costNsPerSec / 1e9) * 100).toFixed(2)}%`;
}
