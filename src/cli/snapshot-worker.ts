// The interactive view's Session, in a worker thread: a snapshot of 100k
// goroutines takes about a second of CPU, which on the main thread would
// leave the keys unanswered that long. Snapshots travel back by structured
// clone, which keeps shared stacks shared.
import { parentPort, workerData } from 'node:worker_threads';
import { type ErrorKind, GtopError } from '../errors.ts';
import type { Snapshot } from '../runtime/goroutine.ts';
import { Session } from '../session.ts';

export type WorkerRequest = { type: 'snapshot' } | { type: 'close' };

export type WorkerReply =
  | { type: 'ready'; comm: string; startTime: number }
  | { type: 'snapshot'; snap: Snapshot }
  /** kind null: not a GtopError, i.e. a bug (its stack is kept). */
  | { type: 'error'; kind: ErrorKind | null; message: string; stack: string | undefined };

const port = parentPort!;
const post = (r: WorkerReply): void => port.postMessage(r);

function failure(err: unknown): WorkerReply {
  if (err instanceof GtopError) return { type: 'error', kind: err.kind, message: err.message, stack: undefined };
  return { type: 'error', kind: null, message: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined };
}

let session: Session | undefined;
try {
  session = Session.open((workerData as { pid: number }).pid);
  post({ type: 'ready', comm: session.target.comm, startTime: session.target.startTime });
} catch (err) {
  post(failure(err));
}

port.on('message', (m: WorkerRequest) => {
  if (m.type === 'close') {
    session?.close();
    port.close();
    return;
  }
  try {
    if (session === undefined) throw new GtopError('internal', 'the session did not open');
    post({ type: 'snapshot', snap: session.snapshot() });
  } catch (err) {
    post(failure(err));
  }
});
