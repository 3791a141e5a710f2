// The wait analysis for --once --json: channels and locks always; the
// deadlock proof (a conservative heap mark) only where it stays cheap or
// when asked, because on 100k goroutines it costs seconds.
import { type AnalysisJSON, type ChannelProbe, LeakTracker, analysisToJSON, findDeadlocks, readWaits, scanReachability } from '../analysis/index.ts';
import type { Snapshot } from '../runtime/goroutine.ts';
import type { Session } from '../session.ts';

/** Above this many goroutines the deadlock proof runs only with --deadlocks. */
export const DEADLOCK_AUTO_LIMIT = 10_000;

export interface AnalysisOptions {
  deadlocks: boolean;
}

/** `probe`: the watch's channel activity (--duration), for each channel's `made` and `activity`. */
export function analysisJSON(session: Session, snap: Snapshot, opts: AnalysisOptions, tracker?: LeakTracker, probe?: ChannelProbe): AnalysisJSON & { deadlocksChecked: boolean } {
  const graph = readWaits(session, snap);
  const check = opts.deadlocks || snap.goroutines.length <= DEADLOCK_AUTO_LIMIT;
  const reach = check ? scanReachability(session, snap, graph) : undefined;
  const cycles = reach ? findDeadlocks(graph, reach) : [];
  tracker?.add(snap, graph, reach?.stuck);
  return { ...analysisToJSON(graph, cycles, tracker?.suspects() ?? [], probe), deadlocksChecked: check };
}
