// --once --duration and --events: attach the probes (src/live), watch, and
// print. Every way out runs one cleanup registry (probes released, memory
// fds closed); SIGINT ends a watch normally (exit 0).
import type { BpfEvent } from '../bpf/events.ts';
import { GtopError } from '../errors.ts';
import { Cleanup } from '../live/cleanup.ts';
import { liveReport, mergeJSON } from '../live/report.ts';
import { LiveWatcher, nowNs } from '../live/watcher.ts';
import { Session } from '../session.ts';
import type { Options } from './args.ts';
import { LeakTracker, readWaits } from '../analysis/index.ts';
import { analysisJSON } from './analysis-json.ts';
import { formatText, toJSON, visibleGoroutines } from './format.ts';
import { eventJSON } from '../live/stream.ts';

function write(s: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(s, (err) => (err ? reject(err) : resolve())));
}

/** Resolves after `secs`, on a signal (with its exit code), or rejects when the watch fails. */
function waitEnd(w: LiveWatcher, cleanup: Cleanup, secs: number | undefined): Promise<number | 'timeout'> {
  return new Promise((resolve, reject) => {
    const end = secs === undefined ? Infinity : Date.now() + secs * 1000;
    const check = setInterval(() => {
      try {
        w.check();
      } catch (err) {
        clearInterval(check);
        reject(err);
        return;
      }
      if (Date.now() >= end) {
        clearInterval(check);
        resolve('timeout');
      }
    }, 20);
    cleanup.install((code) => {
      clearInterval(check);
      resolve(code);
    });
  });
}

export async function runWatch(opts: Options): Promise<number> {
  const cleanup = new Cleanup();
  try {
    const session = Session.open(opts.pid);
    cleanup.add(() => session.close());
    const w = new LiveWatcher(session, { mode: opts.probes, budgetPct: opts.overheadPct, streamAll: opts.events });
    cleanup.add(() => w.close());
    if (opts.events) return await streamEvents(w, session, cleanup, opts);
    // Leak suspects need a series: a snapshot of what goroutines wait on about
    // once a second (less often when a snapshot itself is slow).
    const leaks = opts.json ? new LeakTracker() : undefined;
    let sampler: NodeJS.Timeout | undefined;
    if (leaks) {
      const sample = (): void => {
        const t0 = performance.now();
        const s = session.snapshot();
        leaks.add(s, readWaits(session, s));
        sampler = setTimeout(sample, Math.max(1000, 2 * (performance.now() - t0)));
      };
      sampler = setTimeout(sample, 1000);
      cleanup.add(() => clearTimeout(sampler));
    }
    let end: number | 'timeout';
    try {
      end = await waitEnd(w, cleanup, opts.duration);
    } finally {
      clearTimeout(sampler);
    }
    if (end !== 'timeout') return end;
    w.update();
    const snapNs = nowNs();
    const snap = session.snapshot();
    w.noteSnapshot(snap);
    w.check();
    const report = liveReport(w, visibleGoroutines(snap, opts), opts.probes, opts.overheadPct, nowNs());
    if (opts.json) {
      const base = toJSON(snap, opts) as { goroutines: { id: number }[] };
      await write(`${JSON.stringify({ ...mergeJSON(base, snap, w, snapNs, report), ...analysisJSON(session, snap, opts, leaks, w) })}\n`);
    } else {
      await write(formatText(snap, opts));
      process.stderr.write(`gtop: watched ${report.watchedSeconds}s: ${report.created} created, ${report.exited} exited, probes ${report.probes.attached.join(' ') || 'none'}, ~${report.probes.estimatedOverheadPct}% of a CPU\n`);
    }
    return 0;
  } finally {
    await cleanup.run();
  }
}

async function streamEvents(w: LiveWatcher, session: Session, cleanup: Cleanup, opts: Options): Promise<number> {
  const clock = { mono: nowNs(), wall: Date.now() };
  const bias = session.bias;
  let seenChanges = 0;
  let lastDrops = 0;
  const lines: string[] = [];
  w.onBatch((evs: BpfEvent[]) => {
    for (const e of evs) lines.push(JSON.stringify(eventJSON(e, session.bin, bias, clock)));
  });
  const flush = setInterval(() => {
    const changes = w.probeChanges();
    for (; seenChanges < changes.length; seenChanges++) {
      const c = changes[seenChanges]!;
      lines.push(JSON.stringify({ kind: 'probes', probe: c.probe, attached: c.attached, why: c.why, attachedNow: w.attached(), detachedNow: w.detached() }));
    }
    const drops = w.drops();
    if (drops > lastDrops) lines.push(JSON.stringify({ kind: 'drops', total: drops }));
    lastDrops = drops;
    if (lines.length > 0) process.stdout.write(`${lines.splice(0).join('\n')}\n`);
  }, 50);
  cleanup.add(() => clearInterval(flush));
  let end: number | 'timeout';
  try {
    end = await waitEnd(w, cleanup, opts.duration);
  } catch (err) {
    if (err instanceof GtopError) process.stdout.write(`${JSON.stringify({ kind: 'end', error: err.message })}\n`);
    throw err;
  }
  w.update();
  clearInterval(flush);
  if (lines.length > 0) await write(`${lines.splice(0).join('\n')}\n`);
  return end === 'timeout' ? 0 : end;
}
