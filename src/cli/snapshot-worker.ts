// The interactive view's Session, in a worker thread: a snapshot of 100k
// goroutines takes about a second of CPU, which on the main thread would
// leave the keys unanswered that long. With probes (src/live's LiveWatcher,
// which needs the Session) it answers, with each snapshot, when each of its
// goroutines parked. Snapshots travel back by structured clone, which keeps
// shared stacks shared.
import { parentPort, workerData } from 'node:worker_threads';
import { type ChannelJSON, LeakTracker, type LeakSuspectJSON, channelsToJSON, leakSuspectsToJSON, readWaits } from '../analysis/index.ts';
import { type ErrorKind, GtopError } from '../errors.ts';
import type { LiveWatcher, ProbeMode } from '../live/watcher.ts';
import type { ParkRecord, ProbeFeedData } from '../model/probe.ts';
import type { Snapshot } from '../runtime/goroutine.ts';
import { Session } from '../session.ts';

export interface WorkerSetup {
  pid: number;
  probes: ProbeMode;
  /** The probes' CPU budget, % of one CPU. */
  budgetPct: number;
}

export type WorkerRequest = { type: 'snapshot' } | { type: 'close' };

export type WorkerReply =
  /** The target is open: the view can start. */
  | { type: 'opened'; comm: string; startTime: number }
  /** Probes attached, or probeError says why not although asked for (the view goes on with snapshots). */
  | { type: 'ready'; probeError: string | null }
  | { type: 'snapshot'; snap: Snapshot; probe: ProbeFeedData | null; analysis: WaitAnalysis | null }
  /** kind null: not a GtopError, i.e. a bug (its stack is kept). */
  | { type: 'error'; kind: ErrorKind | null; message: string; stack: string | undefined };

/** What the channel (c) and leak-suspect (l) views show; null on refreshes that skip it. */
export interface WaitAnalysis {
  channels: ChannelJSON[];
  leakSuspects: LeakSuspectJSON[];
}

const port = parentPort!;
const setup = workerData as WorkerSetup;
const post = (r: WorkerReply): void => port.postMessage(r);

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

function analyse(s: Session, snap: Snapshot): WaitAnalysis | null {
  const n = refreshes++;
  if (snap.goroutines.length > ANALYSIS_LIMIT && n % ANALYSIS_EVERY !== 0) return null;
  try {
    const graph = readWaits(s, snap);
    tracker.add(snap, graph);
    return { channels: channelsToJSON(graph), leakSuspects: leakSuspectsToJSON(tracker.suspects()) };
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
      watcher = new LiveWatcher(session, { mode: setup.probes, budgetPct: setup.budgetPct });
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      probeError = err.message;
    }
  }
  post({ type: 'ready', probeError });
}

function probeData(w: LiveWatcher, snap: Snapshot): ProbeFeedData {
  const parks: (readonly [number, ParkRecord])[] = [];
  for (const g of snap.goroutines) {
    if (g.status !== 'waiting') continue;
    const p = w.park(g.id);
    if (p !== undefined) parks.push([g.id, p]);
  }
  return { mode: w.mode, nowNs: w.nowNs(), parks, counters: w.counters(), overhead: w.overhead(), channels: [] };
}

function snapshot(): WorkerReply {
  if (session === undefined) throw new GtopError('internal', 'the session did not open');
  watcher?.update();
  const snap = session.snapshot();
  const analysis = analyse(session, snap);
  if (watcher === undefined) return { type: 'snapshot', snap, probe: null, analysis };
  watcher.noteSnapshot(snap);
  watcher.check();
  return { type: 'snapshot', snap, probe: probeData(watcher, snap), analysis };
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
      post(snapshot());
    } catch (err) {
      post(failure(err));
    }
  });
});
