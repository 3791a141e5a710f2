// The interactive view's wiring: a Session in a worker (snapshot-source.ts),
// a LiveModel fed by its snapshots on a timer, the Ink app, and one cleanup
// path (refresh loop → Ink → terminal → worker and session) taken on every
// way out: q, Ctrl-C, signals, errors.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { ProcessInfo } from '../model/live.ts';
import { LiveModel } from '../model/live.ts';
import { dumpChunks, writeDump } from '../model/dump.ts';
import { GtopError } from '../errors.ts';
import type { Snapshot } from '../runtime/goroutine.ts';
import type { ProbeMode } from '../live/watcher.ts';
import { ProbeFeedFromData } from '../model/probe.ts';
import { NO_WAIT_EXTRAS, type WaitExtras, WaitModel } from '../model/waits.ts';
import type { Frame } from '../runtime/goroutine.ts';
import { SnapshotSource } from './snapshot-source.ts';

export interface TuiOptions {
  pid: number;
  delay: number;
  system: boolean;
  probes: ProbeMode;
  overheadPct: number;
}

/**
 * How Ink draws. Every frame is one synchronized update (DEC mode 2026, on a
 * TTY): the terminal shows the erase and the redraw at once, so a refresh
 * does not flicker. Not incrementalRendering: Ink 6's line-diffing writer
 * drew frames one line low in tmux when the frame grew (a stale first line).
 */
export const INK_OPTIONS = { exitOnCtrlC: false, patchConsole: false, maxFps: 30 } as const;

const ENTER_ALT = '\x1b[?1049h\x1b[2J\x1b[H';
const LEAVE_ALT = '\x1b[?25h\x1b[?1049l';
const CLK_TCK = 100; // USER_HZ: the unit of /proc/PID/stat's start time on Linux

function uptimeSec(startTicks: number): number | null {
  try {
    const sinceBoot = Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]);
    return Number.isFinite(sinceBoot) ? Math.max(0, sinceBoot - startTicks / CLK_TCK) : null;
  } catch {
    return null;
  }
}

function colorWanted(): boolean {
  const noColor = process.env['NO_COLOR'];
  return (noColor === undefined || noColor === '') && process.env['TERM'] !== 'dumb';
}

/** Ink renders nothing until exit when it believes it runs in CI; gtop only runs on a terminal. */
function unsetCi(): void {
  for (const k of Object.keys(process.env)) if (k === 'CI' || k === 'CONTINUOUS_INTEGRATION' || k.startsWith('CI_')) delete process.env[k];
}

function dumpTo(snap: Snapshot | undefined, pid: number, showSystem: boolean): string {
  if (snap === undefined) return 'nothing to dump yet';
  const gs = showSystem ? snap.goroutines : snap.goroutines.filter((g) => !g.system);
  const write = (dir: string): string => writeDump(dir, pid, new Date(), dumpChunks(snap, gs, showSystem));
  try {
    let file: string;
    try {
      file = write(process.cwd());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM') throw err;
      file = write(os.tmpdir());
    }
    return `dump of ${gs.length} goroutines written to ${file}`;
  } catch (err) {
    return `dump failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Runs the view until the user quits; resolves with the exit code. */
export async function runTui(opts: TuiOptions): Promise<number> {
  const { stdin, stdout } = process;
  if (!stdin.isTTY || !stdout.isTTY) throw new GtopError('usage', 'the interactive view needs a terminal; use --once to print the goroutines');
  // Errors opening the target are reported before the screen changes.
  const { source, comm, startTime } = await SnapshotSource.open({ pid: opts.pid, probes: opts.probes, budgetPct: opts.overheadPct });
  try {
    return await view(opts, source, { pid: opts.pid, comm, startTime });
  } finally {
    await source.close();
  }
}

interface Target {
  pid: number;
  comm: string;
  startTime: number;
}

async function view(opts: TuiOptions, source: SnapshotSource, target: Target): Promise<number> {
  const { stdout } = process;
  unsetCi();
  // React's development build checks every render: several times slower.
  process.env['NODE_ENV'] ??= 'production';
  const [{ render }, { createElement }, { App }] = await Promise.all([import('ink'), import('react'), import('../../ui/App.tsx')]);

  const model = new LiveModel();
  const waitModel = new WaitModel();
  let waits: WaitExtras = NO_WAIT_EXTRAS;
  let parkStack: { goid: number; frames: Frame[] | null; why: string | null } | null = null;
  let feed: ProbeFeedFromData | undefined;
  // The worker answers one request at a time: a park-stack fetch waits for the snapshot in flight.
  let busy: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(f: () => Promise<T>): Promise<T> => {
    const next = busy.then(f, f);
    busy = next.catch(() => {});
    return next;
  };
  // Why there are no probe figures; the probes attach while the first snapshot is taken.
  let noProbes: string | null = opts.probes === 'off' ? 'probes off' : 'attaching probes…';
  let snap: Snapshot | undefined;
  let paused = false;
  let stopped = false;
  let wakeUp = (): void => {};
  const nap = (ms: number): Promise<void> => new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    wakeUp = () => {
      clearTimeout(t);
      resolve();
    };
  });
  let finish: (code: number) => void = () => {};
  let fail: (err: unknown) => void = () => {};
  const done = new Promise<number>((resolve, reject) => [finish, fail] = [resolve, reject]);

  const proc = (): ProcessInfo => ({ pid: target.pid, name: target.comm, uptimeSec: uptimeSec(target.startTime) });
  const app = () => createElement(App, {
    view: model.current, pid: target.pid, width: stdout.columns || 80, height: Math.max(5, (stdout.rows || 24) - 1),
    color: colorWanted(), refreshSec: opts.delay, initial: { showSystem: opts.system }, noProbes,
    onQuit: () => finish(0),
    onDump: (showSystem: boolean) => dumpTo(snap, target.pid, showSystem),
    onPause: (p: boolean) => {
      paused = p;
      wakeUp();
    },
    waits,
    parkStack,
    onStackOpen: (goid: number) => void fetchParkStack(goid),
  });

  /** The stack view of `goid` opened: fetch its park-time stack (stacks are not sent with every snapshot). */
  const fetchParkStack = async (goid: number): Promise<void> => {
    if (opts.probes === 'off' || noProbes !== null) return;
    try {
      const frames = await exclusive(() => source.parkStack(goid));
      if (stopped) return;
      const why = frames !== null ? null : opts.probes === 'full' ? 'the probes did not see it park' : '--probes full captures one';
      parkStack = { goid, frames, why };
      ink.rerender(app());
    } catch (err) {
      // The refresh loop reports a lost target; a missing park stack is not worth an error.
      if (!(err instanceof GtopError)) throw err;
    }
  };

  /** One refresh; false once the target is gone. */
  const refresh = async (): Promise<boolean> => {
    let gone = false;
    try {
      const next = await exclusive(() => source.snapshot());
      if (stopped) return false;
      snap = next.snap;
      if (next.probe && feed) feed.set(next.probe);
      else if (next.probe) model.setFeed((feed = new ProbeFeedFromData(next.probe)));
      model.ingest(snap, proc(), Date.now(), next.analysis);
      waits = waitModel.ingest(next.analysis, feed);
    } catch (err) {
      if (stopped) return false;
      if (!(err instanceof GtopError)) throw err;
      if (model.current === undefined) throw err; // nothing to show: report it as --once would
      gone = err.kind === 'process-gone';
      model.fail(err.message, gone);
    }
    ink.rerender(app());
    return !gone;
  };
  // Snapshots run in the worker; the refresh period counts from the start of the last one.
  const loop = async (): Promise<void> => {
    while (!stopped) {
      if (paused) {
        await nap(2 ** 31 - 1);
        continue;
      }
      const started = performance.now();
      if (!(await refresh())) return;
      await nap(Math.max(opts.delay * 1000 - (performance.now() - started), 100));
    }
  };

  stdout.write(ENTER_ALT);
  const ink = render(app(), INK_OPTIONS);
  const onResize = (): void => {
    stdout.write('\x1b[2J\x1b[H');
    ink.clear();
    ink.rerender(app());
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const onSignal = (sig: NodeJS.Signals): void => finish(128 + (os.constants.signals[sig] ?? 0));
  stdout.on('resize', onResize);
  for (const s of signals) process.on(s, onSignal);
  ink.waitUntilExit().then(() => finish(0), fail);
  void source.probes.then((why) => {
    if (opts.probes !== 'off') noProbes = why === null ? null : `probes unavailable (${why})`;
    if (!stopped) ink.rerender(app());
  });
  loop().catch(fail);

  try {
    return await done;
  } finally {
    stopped = true;
    wakeUp();
    stdout.off('resize', onResize);
    for (const s of signals) process.off(s, onSignal);
    ink.unmount();
    stdout.write(LEAVE_ALT);
  }
}
