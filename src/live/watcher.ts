// LiveWatcher: the probe side of a session. Attaches the probes chosen by
// --probes, keeps the overhead governor's books, counts goroutines created
// and exited (from exit/create events, backed by snapshot polling whenever a
// probe that would have told is detached or events were dropped), and
// answers "since when has this goroutine been parked" from the in-kernel
// per-goid state. Exposes ProbeFeed for the TUI and a report for --once.
import { readFileSync, statSync } from 'node:fs';
import { type BpfEvent, EVENT_KINDS, type EventKind, type GState } from '../bpf/events.ts';
import { ProbeSession, type ProbeName, type SiteInfo } from '../bpf/session.ts';
import { attachTarget } from '../bpf/target.ts';
import { GtopError } from '../errors.ts';
import type { ChannelActivity, ParkRecord, ProbeCounters, ProbeFeed } from '../model/probe.ts';
import type { Frame, Snapshot } from '../runtime/goroutine.ts';
import { SnapshotEncoder } from '../runtime/compact.ts';
import type { Session } from '../session.ts';
import { siteCostNs } from './costs.ts';
import { Governor, type GovernorAction, type ProbeTotals } from './governor.ts';
import { asBpfUnavailable, requireProbePrivileges } from './privileges.ts';
import { LifecycleCounts } from './lifecycle.ts';
import { ProbeSymbols, channelActivity } from './symbols.ts';

export type ProbeMode = 'off' | 'light' | 'full';

/**
 * light: the lifecycle probes, all on kernel-emulated instructions (create
 * reads newproc1's result in its callers, ~1 µs a hit against ~22 µs on its
 * RET: bench/create-site.ts), plus makechan (a stepped RET) and closechan,
 * which are rare in normal programs (the governor detaches them if not).
 * full adds the hot chansend/chanrecv.
 */
export const MODE_PROBES: Record<ProbeMode, readonly ProbeName[]> = {
  off: [],
  light: ['park', 'ready', 'exit', 'create', 'makechan', 'closechan'],
  full: ['park', 'ready', 'exit', 'create', 'makechan', 'closechan', 'chansend', 'chanrecv'],
};

export interface WatchOptions {
  mode: ProbeMode;
  budgetPct: number;
  /** Stream every attached kind through the ring buffer (--events); otherwise only create/exit. */
  streamAll?: boolean;
  /** Record a user stack per park (parkStack()); default: only in full mode. */
  parkStacks?: boolean;
  tickMs?: number;
  /** Snapshot polling while a lifecycle probe is detached, ms. */
  pollMs?: number;
}

export interface ProbeChange { atNs: number; probe: ProbeName; attached: boolean; why: string }

/** How often the tick checks that the target still runs the same program. */
const CHECK_TARGET_MS = 200;
/** The window of the target's CPU use fed to the governor (100 Hz ticks: 2 s gives 0.5 % resolution). */
const LOAD_WINDOW_MS = 2000;
/** USER_HZ: /proc/PID/stat's times are in these units on every Linux we support. */
const CLOCK_TICKS = 100;

export const nowNs = (): number => Number(process.hrtime.bigint());

export class LiveWatcher implements ProbeFeed {
  readonly probe: ProbeSession | undefined;
  readonly startNs: number;
  private readonly gov: Governor | undefined;
  private readonly costs: number[];
  /** Monotonic ns since which each probe has been attached without a break; undefined while detached. */
  private readonly attachedSince = new Map<ProbeName, number | undefined>();
  private readonly changes: ProbeChange[] = [];
  private readonly lifecycle: LifecycleCounts;
  private readonly listeners = new Set<(evs: BpfEvent[]) => void>();
  private timer: NodeJS.Timeout | undefined;
  private lastPollAt = 0;
  /** Target CPU time samples (ms, clock ticks) for its load, newest last. */
  private cpuSamples: { atMs: number; ticks: number }[] = [];
  private load: number | undefined;
  private lastCheckAt = 0;
  private lastDrops = 0;
  private failure: GtopError | undefined;
  private readonly exeId: string;
  private readonly symbols: ProbeSymbols;

  constructor(private readonly session: Session, private readonly opts: WatchOptions) {
    this.exeId = exeIdentity(session.target.exePath);
    this.symbols = new ProbeSymbols(session.bin, session.bias);
    const names = MODE_PROBES[opts.mode];
    if (names.length > 0) {
      requireProbePrivileges();
      // ~1.8 µs more per park (bench/park-stacks.ts): worth it only when asked for everything.
      const parkStacks = opts.parkStacks ?? opts.mode === 'full';
      const emit: EventKind[] = names.filter((n): n is EventKind => (opts.streamAll ? (EVENT_KINDS as readonly string[]).includes(n) : n === 'exit' || n === 'create'));
      try {
        this.probe = ProbeSession.open({ probes: names, emit, parkStacks });
        this.probe.attach(attachTarget(session.target, session.bin));
      } catch (err) {
        this.probe?.close();
        throw asBpfUnavailable(err);
      }
      this.costs = this.probe.sites().map((s) => siteCostNs(s, parkStacks));
    } else {
      this.costs = [];
    }
    const t = nowNs();
    for (const n of names) this.attachedSince.set(n, t);
    // The governor's books start at the attach, and it rules once the
    // baseline snapshot (tens of ms to seconds) is taken: a probe too hot for
    // the budget goes then, not a tick later and not judged by a rate
    // inflated by the snapshot's time.
    this.gov = this.probe ? new Governor(names, Date.now(), { budgetPct: opts.budgetPct, tickMs: opts.tickMs ?? 50 }) : undefined;
    // The goroutines alive at the start: one of them exiting is not a creation.
    this.startNs = t;
    this.lifecycle = new LifecycleCounts(this.goids());
    if (this.probe && this.gov) {
      try {
        this.govern(this.probe, this.gov);
      } catch (err) {
        this.probe.close();
        throw err;
      }
      this.probe.subscribe((evs) => this.onEvents(evs), { intervalMs: 20 });
    }
    this.timer = setInterval(() => this.tick(), opts.tickMs ?? 50);
    this.timer.unref();
  }

  /** Hands every decoded batch to `fn` (for --events); returns the unsubscribe. */
  onBatch(fn: (evs: BpfEvent[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private onEvents(evs: BpfEvent[]): void {
    for (const e of evs) {
      if (e.ts < this.startNs) continue;
      if (e.kind === 'exit') this.lifecycle.onExit(e.goid);
      else if (e.kind === 'create') this.lifecycle.onCreate(e.goid);
    }
    for (const l of this.listeners) l(evs);
  }

  /** Budget, target liveness, and snapshot polling for what detached probes would have told. */
  private tick(): void {
    if (this.failure) return;
    try {
      // Two procfs reads; the largest share of gtop's idle CPU when done every tick.
      if (Date.now() - this.lastCheckAt >= CHECK_TARGET_MS) this.checkTarget();
      if (this.probe && this.gov) this.govern(this.probe, this.gov);
      const drops = this.probe?.drops() ?? 0;
      const blind = !this.isExact('exit') || drops > this.lastDrops;
      this.lastDrops = drops;
      if (blind && Date.now() - this.lastPollAt >= (this.opts.pollMs ?? 1000)) this.pollSnapshot();
    } catch (err) {
      this.failure = err instanceof GtopError ? err : new GtopError('internal', `live watch failed: ${(err as Error).message}`, { cause: err });
      this.stopTimers();
    }
  }

  private govern(probe: ProbeSession, gov: Governor): void {
    const totals = new Map<ProbeName, ProbeTotals>();
    const hits = probe.counters().siteHits;
    probe.sites().forEach((s: SiteInfo, i) => {
      const t = totals.get(s.probe) ?? { hits: 0, costNs: 0 };
      t.hits += hits[i] ?? 0;
      t.costNs += (hits[i] ?? 0) * (this.costs[i] ?? 0);
      totals.set(s.probe, t);
    });
    for (const a of gov.tick(Date.now(), totals, this.load)) this.apply(probe, gov, a);
  }

  private apply(probe: ProbeSession, gov: Governor, a: GovernorAction): void {
    try {
      probe.setProbe(a.probe, a.attach);
    } catch (err) {
      this.checkTarget();
      gov.markDetached(a.probe, Date.now());
      this.changes.push({ atNs: nowNs(), probe: a.probe, attached: false, why: `re-attach failed: ${(err as Error).message}` });
      return;
    }
    this.attachedSince.set(a.probe, a.attach ? nowNs() : undefined);
    this.changes.push({ atNs: nowNs(), probe: a.probe, attached: a.attach, why: a.why });
  }

  /**
   * The target's CPU use over the last ~2 s (CPUs), from /proc/PID/stat:
   * the governor's cheap proxy for whether a hot probe's rate could have fallen.
   */
  private sampleLoad(nowMs: number): void {
    let ticks: number;
    try {
      const f = readFileSync(`/proc/${this.session.target.pid}/stat`, 'latin1');
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
      ticks = Number(rest[11]) + Number(rest[12]); // utime + stime (fields 14, 15)
    } catch {
      return;
    }
    if (!Number.isFinite(ticks)) return;
    this.cpuSamples.push({ atMs: nowMs, ticks });
    while (this.cpuSamples.length > 2 && nowMs - this.cpuSamples[1]!.atMs >= LOAD_WINDOW_MS) this.cpuSamples.shift();
    const first = this.cpuSamples[0]!;
    if (nowMs - first.atMs >= LOAD_WINDOW_MS / 2) this.load = (ticks - first.ticks) / CLOCK_TICKS / ((nowMs - first.atMs) / 1000);
  }

  /** The target exited or exec'd: the session cannot go on. */
  private checkTarget(): void {
    this.lastCheckAt = Date.now();
    if (this.gov) this.sampleLoad(this.lastCheckAt);
    const { target } = this.session;
    const exited = new GtopError('process-gone', `process ${target.pid} exited while gtop was watching it`);
    if (!target.isAlive()) throw exited;
    const id = exeIdentity(target.exePath);
    if (id !== this.exeId) {
      // /proc/PID/exe goes away while the process exits, before it shows as dead.
      if (id === 'gone' || !target.isAlive()) throw exited;
      throw new GtopError('process-gone', `process ${target.pid} exec'd another program while gtop was watching it`);
    }
  }

  private pollSnapshot(): void {
    this.lastPollAt = Date.now();
    this.noteIds(this.goids());
  }

  /** The goroutine ids of a snapshot taken now, read into columns (no Goroutine object per goroutine). */
  private goids(): Float64Array {
    return this.session.snapshotColumns(new SnapshotEncoder()).id;
  }

  /** Goroutines that vanished since the last snapshot exited; new ones were created. */
  noteSnapshot(snap: Snapshot): void {
    const ids = new Float64Array(snap.goroutines.length);
    snap.goroutines.forEach((g, k) => (ids[k] = g.id));
    this.noteIds(ids);
  }

  /** The same from a snapshot's goroutine ids; a snapshot taken by the caller is one less to poll for. */
  noteIds(ids: Float64Array): void {
    this.lastPollAt = Date.now();
    this.lifecycle.onSnapshot(ids);
  }

  /** Throws what stopped the watch (target gone or exec'd), if anything did. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /** True when the probe has been attached without a break since `sinceNs` (default: the start). */
  isExact(name: ProbeName, sinceNs = this.startNs): boolean {
    const t = this.attachedSince.get(name);
    return t !== undefined && t <= sinceNs;
  }

  attached(): ProbeName[] {
    return [...this.attachedSince].filter(([, t]) => t !== undefined).map(([n]) => n);
  }

  detached(): ProbeName[] {
    return [...this.attachedSince].filter(([, t]) => t === undefined).map(([n]) => n);
  }

  probeChanges(): readonly ProbeChange[] {
    return this.changes;
  }

  totals(): { created: number; exited: number; createdExact: boolean; exitedExact: boolean } {
    const drops = this.drops() === 0;
    const exitedExact = this.isExact('exit') && drops;
    return { created: this.lifecycle.created, exited: this.lifecycle.exited, exitedExact, createdExact: (exitedExact || this.isExact('create')) && drops };
  }

  drops(): number {
    return this.probe?.drops() ?? 0;
  }

  hitsPerSecond(): Record<string, number> {
    return this.gov?.hitsPerSecond() ?? {};
  }

  estimatedOverheadPct(): number {
    return this.gov?.averagePct(Date.now()) ?? 0;
  }

  // ProbeFeed, for the TUI's model.
  get mode(): string {
    const det = this.detached();
    const att = this.attached();
    if (att.length === 0 && det.length === 0) return 'probes off';
    return `uprobes ${this.opts.mode}: ${att.join(' ') || 'none'}${det.length ? ` (detached over the ${this.opts.budgetPct}% budget: ${det.join(' ')}; snapshot polling)` : ''}`;
  }

  update(): void {
    if (this.probe) this.onEvents(this.probe.poll(100_000));
  }

  nowNs(): number {
    return nowNs();
  }

  /** `park` for many goroutines: one batched read of the kernel's state map instead of a lookup each. */
  parks(goids: Iterable<number>): Map<number, ParkRecord> {
    const states = this.probe?.gstates() ?? new Map<number, GState>();
    const out = new Map<number, ParkRecord>();
    for (const goid of goids) {
      const p = this.parkFrom(states.get(goid));
      if (p) out.set(goid, p);
    }
    return out;
  }

  park(goid: number): ParkRecord | undefined {
    return this.parkFrom(this.probe?.gstate(goid));
  }

  private parkFrom(st: GState | undefined): ParkRecord | undefined {
    if (!st || st.status !== 'parked' || st.since < this.startNs) return undefined;
    // A park is exact only if park and ready watched it continuously: else it may have woken and re-parked unseen.
    if (!this.isExact('park', st.since) || !this.isExact('ready', st.since)) return undefined;
    const reason = this.session.bin.waitReasons[st.reason] ?? `waitReason(${st.reason})`;
    const lock = st.lock;
    const onChan = lock !== 0 && (reason === 'chan receive' || reason === 'chan send');
    return { parkedAtNs: st.since, reason, ...(onChan ? { channel: lock - this.session.bin.layout.hchan.lock } : {}) };
  }

  counters(): ProbeCounters {
    const t = this.totals();
    return { created: t.created, exited: t.exited, drops: this.drops() };
  }

  overhead(): number | null {
    return this.gov ? this.gov.currentPct() / 100 : null;
  }

  /** One lookup in the in-kernel chan_stats map; undefined when the probes saw nothing of it. */
  channel(addr: number): ChannelActivity | undefined {
    const s = this.probe?.chanStats(addr);
    if (!s) return undefined;
    const made = s.madeTs > 0 && s.madePc > 0 ? this.symbols.callSite(s.madePc) : null;
    const opsExact = (since: number) => this.isExact('chansend', since) && this.isExact('chanrecv', since);
    return channelActivity(s, made, opsExact, this.startNs);
  }

  /**
   * The user stack recorded when the goroutine last parked, symbolized like
   * the snapshot's stacks (inlined frames expanded, hidden frames dropped);
   * undefined unless it is still in that park and a stack was captured.
   */
  parkStack(goid: number): Frame[] | undefined {
    const st = this.probe?.gstate(goid);
    if (!st || st.status !== 'parked' || st.stackId < 0) return undefined;
    const pcs = this.probe!.stack(st.stackId);
    return pcs.length > 0 ? this.symbols.stack(pcs) : undefined;
  }

  private stopTimers(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Detaches everything; idempotent. */
  close(): void {
    this.stopTimers();
    this.listeners.clear();
    this.probe?.close();
  }
}

function exeIdentity(exePath: string): string {
  try {
    const st = statSync(exePath, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return 'gone';
  }
}
