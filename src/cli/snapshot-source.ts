// The main thread's side of snapshot-worker.ts: open, ask for snapshots one
// at a time, close. A failure in the worker comes back as the GtopError it
// was (or, for a bug, as an Error with the worker's stack).
import { Worker } from 'node:worker_threads';
import { GtopError } from '../errors.ts';
import { CompactSnapshot, StackTable } from '../runtime/compact.ts';
import type { Frame } from '../runtime/goroutine.ts';
import type { ProbeFeedData } from '../model/probe.ts';
import type { WaitAnalysis, WorkerReply, WorkerRequest, WorkerSetup } from './snapshot-worker.ts';

function rebuild(r: Extract<WorkerReply, { type: 'error' }>): Error {
  if (r.kind !== null) return new GtopError(r.kind, r.message);
  const err = new Error(r.message);
  if (r.stack !== undefined) err.stack = r.stack;
  return err;
}

// A smaller young generation than V8's default: the snapshot's garbage is
// collected sooner and the worker's resident memory stays lower (~10 % at
// 100k goroutines). No old-generation cap: a big target must not kill it.
const LIMITS = { maxYoungGenerationSizeMb: 8 };

/** From source (tsx), the worker must register tsx itself: module hooks are per thread. */
function startWorker(setup: WorkerSetup): Worker {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new Worker(new URL('./snapshot-worker.js', self), { workerData: setup, resourceLimits: LIMITS });
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./snapshot-worker.ts', self).href;
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(code, { eval: true, workerData: setup, resourceLimits: LIMITS });
}

export class SnapshotSource {
  private pending: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void } | undefined;
  private dead: Error | undefined;
  private closed = false;
  /** The stacks the worker has sent, as long as snapshots use them. */
  private readonly stacks = new StackTable();
  private probesReady: (why: string | null) => void = () => {};
  /** Resolves once the probes are attached (null) or could not be (why not). */
  readonly probes: Promise<string | null>;

  private constructor(private readonly worker: Worker) {
    this.probes = new Promise((resolve) => (this.probesReady = resolve));
    worker.on('message', (r: WorkerReply) => {
      if (r.type === 'ready') this.probesReady(r.probeError);
      else this.settle((p) => p.resolve(r));
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`the snapshot worker exited (code ${code})`)));
  }

  /**
   * Opens the target in a worker, then attaches probes there unless
   * setup.probes is 'off' (see `probes`); rejects with the GtopError
   * Session.open would throw. Probes that cannot be attached are not an error.
   */
  static async open(setup: WorkerSetup): Promise<{ source: SnapshotSource; comm: string; startTime: number }> {
    const source = new SnapshotSource(startWorker(setup));
    try {
      const r = await source.next();
      if (r.type === 'error') throw rebuild(r);
      if (r.type !== 'opened') throw new Error(`snapshot worker: unexpected ${r.type}`);
      return { source, comm: r.comm, startTime: r.startTime };
    } catch (err) {
      await source.close();
      throw err;
    }
  }

  /** A snapshot, what the probes say about its goroutines (null without probes), and its wait analysis (null when skipped). */
  async snapshot(): Promise<{ snap: CompactSnapshot; probe: ProbeFeedData | null; analysis: WaitAnalysis | null }> {
    if (this.closed) throw new Error('snapshot source is closed');
    const reply = this.next();
    this.worker.postMessage({ type: 'snapshot' } satisfies WorkerRequest);
    const r = await reply;
    if (r.type === 'error') throw rebuild(r);
    if (r.type !== 'snapshot') throw new Error(`snapshot worker: unexpected ${r.type}`);
    return { snap: CompactSnapshot.decode(r.snap, this.stacks), probe: r.probe, analysis: r.analysis };
  }

  /** The stack `goid` had when the probes saw it park; null without one. One request at a time, as snapshot(). */
  async parkStack(goid: number): Promise<Frame[] | null> {
    if (this.closed) throw new Error('snapshot source is closed');
    const reply = this.next();
    this.worker.postMessage({ type: 'parkStack', goid } satisfies WorkerRequest);
    const r = await reply;
    if (r.type === 'error') throw rebuild(r);
    if (r.type !== 'parkStack') throw new Error(`snapshot worker: unexpected ${r.type}`);
    return r.frames;
  }

  /** Closes the session in the worker, then ends the worker; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.dead === undefined) {
      const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
      this.worker.postMessage({ type: 'close' } satisfies WorkerRequest);
      // The worker ends once its port closes; don't wait on a stuck one.
      const timer = setTimeout(() => void this.worker.terminate(), 1000);
      await exited;
      clearTimeout(timer);
    }
  }

  private next(): Promise<WorkerReply> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.pending) return Promise.reject(new Error('snapshot worker: one request at a time'));
    return new Promise((resolve, reject) => (this.pending = { resolve, reject }));
  }

  private settle(f: (p: NonNullable<SnapshotSource['pending']>) => void): void {
    const p = this.pending;
    this.pending = undefined;
    if (p) f(p);
  }

  private fail(err: Error): void {
    this.dead ??= err;
    this.probesReady(err.message);
    this.settle((p) => p.reject(err));
  }
}
