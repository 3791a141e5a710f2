// The interactive view's Session, in a worker thread: a snapshot of 100k
// goroutines takes about a second of CPU, which on the main thread would
// leave the keys unanswered that long. With probes (src/live's LiveWatcher,
// which needs the Session) it answers, with each snapshot, when each of its
// goroutines parked. Snapshots travel back in columns (runtime/compact.ts):
// typed arrays, per-message tables, and each stack only once.
import { parentPort, workerData } from 'node:worker_threads';
import {
  type ChannelJSON, type DeadlockJSON, LeakTracker, type LeakSuspectJSON, type LockJSON,
  channelsToJSON, deadlocksToJSON, findDeadlocks, leakSuspectsToJSON, locksToJSON, readWaits, scanReachability,
} from '../analysis/index.ts';
import { DEADLOCK_AUTO_LIMIT } from './analysis-json.ts';
import { type ErrorKind, GtopError } from '../errors.ts';
import type { LiveWatcher, ProbeMode } from '../live/watcher.ts';
import { type ChannelActivity, type ProbeFeedData, parkBuffers, parkColumns } from '../model/probe.ts';
import { capWaiters } from '../model/waits.ts';
import type { Frame } from '../runtime/goroutine.ts';
import { Session } from '../session.ts';
import { CompactSnapshot, SnapshotEncoder, StackTable, type WireSnapshot, wireBuffers } from '../runtime/compact.ts';
import { collectGarbage } from './heap.ts';

export interface WorkerSetup {
  pid: number;
  probes: ProbeMode;
  /** The probes' CPU budget, % of one CPU. */
  budgetPct: number;
}

export type WorkerRequest =
  | { type: 'snapshot' }
  /** The stack a goroutine had when the probes saw it park (asked for when its stack view opens, not sent for all). */
  | { type: 'parkStack'; goid: number }
  | { type: 'close' };

export type WorkerReply =
  /** The target is open: the view can start. */
  | { type: 'opened'; comm: string; startTime: number }
  /** Probes attached, or probeError says why not although asked for (the view goes on with snapshots). */
  | { type: 'ready'; probeError: string | null }
  | { type: 'snapshot'; snap: WireSnapshot; probe: ProbeFeedData | null; analysis: WaitAnalysis | null }
  /** null: no probes, or they did not capture one for that goroutine. */
  | { type: 'parkStack'; goid: number; frames: Frame[] | null }
  /** kind null: not a GtopError, i.e. a bug (its stack is kept). */
  | { type: 'error'; kind: ErrorKind | null; message: string; stack: string | undefined };

/** What the wait (c) and leak-suspect (l) views show; null on refreshes that skip it. */
export interface WaitAnalysis {
  channels: ChannelJSON[];
  leakSuspects: LeakSuspectJSON[];
  /** Mutex, RWMutex, WaitGroup, Cond (and bare semaphores) with waiters, most first. */
  locks: LockJSON[];
  /** Proven deadlock cycles, from the latest proof (it does not run at every refresh). */
  deadlocks: DeadlockJSON[];
  /** False when the proof did not run (more than DEADLOCK_AUTO_LIMIT goroutines, or the heap could not be read). */
  deadlocksChecked: boolean;
}

const port = parentPort!;
const setup = workerData as WorkerSetup;
const post = (r: WorkerReply): void => port.postMessage(r, transferable(r));

/** A snapshot's columns move to the main thread instead of being copied (~6 MB per 100k goroutines). */
function transferable(r: WorkerReply): ArrayBuffer[] {
  if (r.type !== 'snapshot') return [];
  const waiters = [...(r.analysis?.channels ?? []), ...(r.analysis?.locks ?? [])].flatMap((x) => (x.all ? [x.all.goroutines.buffer as ArrayBuffer] : []));
  return [...new Set([...wireBuffers(r.snap), ...(r.probe ? parkBuffers(r.probe.parks) : []), ...waiters])];
}

function failure(err: unknown): WorkerReply {
  if (err instanceof GtopError) return { type: 'error', kind: err.kind, message: err.message, stack: undefined };
  return { type: 'error', kind: null, message: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined };
}

let session: Session | undefined;
let watcher: LiveWatcher | undefined;
const tracker = new LeakTracker();
let refreshes = 0;

/** Above this many goroutines the wait analysis runs every ANALYSIS_EVERY-th refresh, to keep refreshes fast. */
const ANALYSIS_LIMIT = 20_000;
const ANALYSIS_EVERY = 5;
/** The deadlock proof (a heap mark) runs again only once this many times its own last duration has passed: ≤ ~10 % of the worker. */
const PROOF_SPACING = 10;

/** The last proof: a deadlock is permanent, so its verdict stays good between runs. */
let proof: { at: number; costMs: number; deadlocks: DeadlockJSON[]; checked: boolean } | undefined;

function prove(s: Session, snap: CompactSnapshot, graph: ReturnType<typeof readWaits>): Set<number> | undefined {
  if (snap.length > DEADLOCK_AUTO_LIMIT) {
    proof = { at: performance.now(), costMs: 0, deadlocks: [], checked: false };
    return undefined;
  }
  const now = performance.now();
  if (proof?.checked && now - proof.at < PROOF_SPACING * proof.costMs) return undefined;
  const reach = scanReachability(s, snap, graph);
  const cycles = findDeadlocks(graph, reach);
  proof = { at: now, costMs: performance.now() - now, deadlocks: deadlocksToJSON(cycles), checked: reach.inconclusive === null };
  return reach.stuck;
}

function analyse(s: Session, snap: CompactSnapshot): WaitAnalysis | null {
  const n = refreshes++;
  if (snap.length > ANALYSIS_LIMIT && n % ANALYSIS_EVERY !== 0) return null;
  // The analysis reads the columns by index (GoroutineIndex): no Goroutine object per goroutine.
  try {
    const graph = readWaits(s, snap);
    tracker.add(snap, graph, prove(s, snap, graph));
    // Waiters as the view lists them: the first ones, and all goids in a typed array.
    const { channels, locks } = capWaiters(channelsToJSON(graph), locksToJSON(graph));
    analysedChannels = channels.slice(0, ACTIVITY_LIMIT).map((c) => Number(c.address));
    return {
      channels, leakSuspects: leakSuspectsToJSON(tracker.suspects()), locks,
      deadlocks: proof?.deadlocks ?? [], deadlocksChecked: proof?.checked ?? false,
    };
  } catch (err) {
    // A wait graph that cannot be read must not cost the snapshot: the views keep the last one.
    if (err instanceof GtopError) return null;
    throw err;
  }
}

async function open(): Promise<void> {
  session = Session.open(setup.pid);
  post({ type: 'opened', comm: session.target.comm, startTime: session.target.startTime });
  let probeError: string | null = null;
  if (setup.probes !== 'off') {
    try {
      // Loaded only when asked for: libbpf through koffi.
      const { LiveWatcher } = await import('../live/watcher.ts');
      // Stacks at park time cost a bpf_get_stack per park: only with --probes full.
      watcher = new LiveWatcher(session, { mode: setup.probes, budgetPct: setup.budgetPct, parkStacks: setup.probes === 'full' });
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      probeError = err.message;
    }
  }
  post({ type: 'ready', probeError });
}

/** The channels of the last analysis: refreshes that skip the analysis still report their activity. */
let analysedChannels: number[] = [];

/** One map lookup (a syscall) per channel and refresh: activity for the channels with the most waiters only. */
const ACTIVITY_LIMIT = 5_000;

function probeData(w: LiveWatcher, snap: CompactSnapshot): ProbeFeedData {
  const waiting: number[] = [];
  for (let i = 0; i < snap.length; i++) if (snap.status(i) === 'waiting') waiting.push(snap.id(i));
  const parks = parkColumns(w.parks(waiting));
  const channels: (readonly [number, ChannelActivity])[] = [];
  for (const addr of analysedChannels) {
    const a = w.channel(addr);
    if (a !== undefined) channels.push([addr, a]);
  }
  return { mode: w.mode, nowNs: w.nowNs(), parks, counters: w.counters(), overhead: w.overhead(), channels };
}

/** One goroutine's park-time stack, asked for by an open stack view (--probes full records them). */
function parkStack(goid: number): WorkerReply {
  return { type: 'parkStack', goid, frames: watcher?.parkStack(goid) ?? null };
}

/** Remembers which stacks the main thread holds; `stacks` mirrors the main thread's table, to read the same message here. */
const encoder = new SnapshotEncoder();
const stacks = new StackTable();

function snapshot(): WorkerReply {
  if (session === undefined) throw new GtopError('internal', 'the session did not open');
  watcher?.update();
  // Read straight into the columns that are sent: no 100k Goroutine objects alive at once.
  const wire = session.snapshotColumns(encoder);
  const snap = CompactSnapshot.decode(wire, stacks);
  const analysis = analyse(session, snap);
  let probe: ProbeFeedData | null = null;
  if (watcher !== undefined) {
    watcher.noteIds(wire.id);
    watcher.check();
    probe = probeData(watcher, snap);
  }
  // The columns are transferred when posted: `snap` must not be read after this.
  return { type: 'snapshot', snap: wire, probe, analysis };
}

// Requests wait until the session and probes are set up (or failed to be).
const opening = open().then(() => true, (err: unknown) => {
  watcher?.close();
  session?.close();
  post(failure(err));
  return false;
});

port.on('message', (m: WorkerRequest) => {
  void opening.then((ok) => {
    if (m.type === 'close') {
      watcher?.close();
      session?.close();
      port.close();
      return;
    }
    try {
      if (!ok) throw new GtopError('internal', 'the session did not open');
      post(m.type === 'parkStack' ? parkStack(m.goid) : snapshot());
    } catch (err) {
      post(failure(err));
    }
    // The refresh's garbage (its wait graph, the Goroutine objects the analysis
    // made), collected as soon as the reply is out: resident memory then
    // falls back to what the worker keeps between refreshes instead of
    // holding the peak until the next request, and the next snapshot does
    // not wait for a collection. Its columns were transferred, the rest copied.
    if (m.type === 'snapshot') collectGarbage();
  });
});
