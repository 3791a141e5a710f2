// bench/ui: the interactive view with 10k and 100k parked goroutines in the
// target (bench/go/parked). In this process, on a 120×40 fake terminal, with
// snapshots in a worker as gtop takes them: how long a refresh takes
// (snapshot, model, frame of the new view), how long keys can wait meanwhile,
// and how long a frame takes after a key (cursor move, sort, grouping).
// Then the real bin/gtop in tmux: its resident memory, sampled every 250 ms
// over 20 refreshes (the median, and the highest sample).
//
//   node --max-semi-space-size=1 dist/bench/ui.js [N ...]     (default: 10000 100000; after `npm run build`)
// The #! line of bin/gtop and its V8 flags: the same here, so that frames
// are timed under gtop's garbage-collection settings.
// Goals (issue 4): ≤ 50 ms per frame, ≤ 200 MB resident.
import { execFileSync } from 'node:child_process';
import v8 from 'node:v8';
import { EventEmitter } from 'node:events';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LiveModel } from '../src/model/live.ts';
import { SnapshotSource } from '../src/cli/snapshot-source.ts';
import { NO_PARKS, ProbeFeedFromData } from '../src/model/probe.ts';
import { ROOT, buildParked, startParked } from './common.ts';
import { FakeKeyboard } from '../test/helpers/keyboard.ts';

// Styles as on a real terminal, even when this output is piped: without
// them a cursor move changes no byte and Ink draws nothing.
process.env['FORCE_COLOR'] ??= '1';
process.env['NODE_ENV'] ??= 'production'; // as gtop runs React (src/cli/tui.ts)
const [{ render }, { createElement }, { App }] = await Promise.all([import('ink'), import('react'), import('../ui/App.tsx')]);

v8.setFlagsFromString('--heap-growing-percent=30'); // as bin/gtop
const [W, H] = [120, 40];

/** A terminal Ink can draw on: counts what it writes. */
class FakeTerminal extends EventEmitter {
  readonly isTTY = true;
  readonly columns = W;
  readonly rows = H;
  writes = 0;
  lastWriteAt = 0;
  write(_s: string): boolean {
    this.writes++;
    this.lastWriteAt = performance.now();
    return true;
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number): string => `${x.toFixed(1).padStart(7)} ms`;

/** Wall time from `fn` (a key, a new view) until the frame is written to the terminal. */
async function frameTime(term: FakeTerminal, fn: () => void): Promise<number> {
  await sleep(40); // past Ink's 30 fps throttle, so this frame is drawn on the leading edge
  const before = term.writes;
  const t0 = performance.now();
  fn();
  for (let i = 0; i < 2000 && term.writes === before; i++) await sleep(1);
  if (term.writes === before) throw new Error('no frame was drawn');
  return term.lastWriteAt - t0;
}

/** The longest the event loop was held up while `fn` ran (how long a key could wait). */
async function longestStall(fn: () => Promise<void>): Promise<number> {
  let last = performance.now();
  let worst = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 1);
    last = now;
  }, 1);
  try {
    await fn();
    await sleep(5);
  } finally {
    clearInterval(tick);
  }
  return Math.max(0, worst);
}

async function inProcess(pid: number): Promise<string[]> {
  // With the probes gtop attaches by default (--probes light), when it can.
  const { source } = await SnapshotSource.open({ pid, probes: 'light', budgetPct: 1 });
  const probeError = await source.probes;
  const feed = probeError === null ? new ProbeFeedFromData({ mode: '', nowNs: 0, parks: NO_PARKS, counters: { created: 0, exited: 0, drops: 0 }, overhead: null, channels: [] }) : undefined;
  const model = new LiveModel(feed);
  const term = new FakeTerminal();
  const keys = new FakeKeyboard();
  const proc = { pid, name: 'parked', uptimeSec: null };
  const app = () => createElement(App, { view: model.current, pid, width: W, height: H - 1, color: true, refreshSec: 1, onQuit() {}, onDump: () => '', onPause() {} });
  const ink = render(app(), { stdout: term as unknown as NodeJS.WriteStream, stdin: keys as unknown as NodeJS.ReadStream, exitOnCtrlC: false, patchConsole: false });
  const snapMs: number[] = [];
  const ingestMs: number[] = [];
  const refreshFrame: number[] = [];
  const stalls: number[] = [];
  try {
    for (let i = 0; i < 4; i++) {
      let frame = 0;
      stalls.push(await longestStall(async () => {
        const { snap, probe } = await source.snapshot();
        snapMs.push(snap.durationMs);
        const t0 = performance.now();
        if (feed && probe) feed.set(probe);
        model.ingest(snap, proc, Date.now());
        ingestMs.push(performance.now() - t0);
        frame = await frameTime(term, () => ink.rerender(app()));
      }));
      refreshFrame.push(frame);
    }
    const key = async (k: string, n: number): Promise<number> => {
      const xs: number[] = [];
      for (let i = 0; i < n; i++) xs.push(await frameTime(term, () => keys.press(k)));
      return median(xs);
    };
    await sleep(50);
    const down = await key('\x1b[B', 20);
    const pageDown = await key('\x1b[6~', 10);
    const sort = await key('>', 6);
    await key('<', 6);
    const group = await key('g', 4);
    return [
      `  probes              ${probeError === null ? model.current?.probes?.mode : `unavailable: ${probeError}`}`,
      `  snapshot (worker)   ${ms(median(snapMs))}   (median of 4)`,
      `  model ingest        ${ms(median(ingestMs))}`,
      `  refresh frame       ${ms(median(refreshFrame.slice(1)))}   new rows: filter + sort + render (first: ${refreshFrame[0]!.toFixed(1)} ms)`,
      `  keys wait up to     ${ms(median(stalls.slice(1)))}   longest main-thread stall per refresh (receiving the snapshot, ingest, frame)`,
      `  key frame: ↓        ${ms(down)}`,
      `  key frame: PgDn     ${ms(pageDown)}`,
      `  key frame: > sort   ${ms(sort)}   re-sorts every row`,
      `  key frame: g group  ${ms(group)}   regroups every row`,
      `  bench process RSS   ${(process.memoryUsage().rss / 2 ** 20).toFixed(0).padStart(7)} MB   (with its worker)`,
    ];
  } finally {
    ink.unmount();
    await source.close();
  }
}

function descendants(pid: number): number[] {
  const kids: number[] = [];
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'latin1');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) kids.push(Number(d), ...descendants(Number(d)));
    } catch {
      // gone
    }
  }
  return kids;
}

function statusKb(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** Newest modification time under `dir` of files ending in `ext`. */
function newest(dir: string, ext: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) t = Math.max(t, newest(p, ext));
    else if (e.name.endsWith(ext)) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/** How bin/gtop will run: from dist/ (as installed) when built, else from source through tsx, which costs memory of its own. */
function howGtopRuns(): { fromSource: boolean; note: string } {
  const built = `${ROOT}dist/src/cli/main.js`;
  if (process.env['GTOP_FROM_SOURCE'] === '1' || !existsSync(built)) return { fromSource: true, note: 'from source through tsx (no dist/: run `npm run build` to measure what users run)' };
  const stale = newest(`${ROOT}src`, '.ts') > statSync(built).mtimeMs || newest(`${ROOT}ui`, '.tsx') > statSync(built).mtimeMs;
  return { fromSource: false, note: `from dist/${stale ? ', WHICH IS OLDER THAN src/: run `npm run build`' : ''}` };
}

/** The real gtop in a 120×40 tmux terminal, after `refreshes` refreshes. */
async function realGtop(pid: number, refreshes: number): Promise<string[]> {
  const tmux = (...a: string[]): string => execFileSync('tmux', ['-L', `gtop-bench-${process.pid}`, ...a], { encoding: 'utf8' });
  const how = howGtopRuns();
  // Started as a user starts it, through its #! line (which carries V8 flags); node from this bench's PATH.
  const path = `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`;
  tmux('new-session', '-d', '-s', 'b', '-x', String(W), '-y', String(H), `exec env PATH=${path} GTOP_FROM_SOURCE=${how.fromSource ? 1 : 0} ${ROOT}bin/gtop -p ${pid}`);
  try {
    const pane = Number(tmux('display-message', '-p', '-t', 'b', '#{pane_pid}').trim());
    const deadline = Date.now() + 120_000;
    while (!/goroutines/.test(tmux('capture-pane', '-p', '-t', 'b')) && Date.now() < deadline) await sleep(200);
    const procs = [pane, ...descendants(pane)].filter((p) => readFileSync(`/proc/${p}/comm`, 'utf8').trim().startsWith('node'));
    const mb = (field: string): number => procs.map((p) => statusKb(p, field)).reduce((a, b) => a + b, 0) / 1024;
    // Resident memory moves within each refresh (the worker's peak is while it reads): sampled through them.
    const rss: number[] = [];
    for (let t = 0; t < refreshes * 1000; t += 250) {
      await sleep(250);
      rss.push(mb('VmRSS'));
    }
    rss.sort((a, b) => a - b);
    const f = (x: number): string => x.toFixed(0);
    return [
      `  gtop in tmux RSS    ${f(median(rss)).padStart(7)} MB   median over ${refreshes} s (${rss.length} samples), max ${f(rss.at(-1)!)} MB; peak since start ${f(mb('VmHWM'))} MB; now anonymous ${f(mb('RssAnon'))} MB, files ${f(mb('RssFile'))} MB (node's own code)`,
      `                      run ${how.note}`,
    ];
  } finally {
    tmux('kill-server');
  }
}

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const bin = buildParked();
for (const n of sizes.length ? sizes : [10_000, 100_000]) {
  const t = await startParked(bin, n);
  try {
    await sleep(500);
    console.log(`${n} parked goroutines, ${W}×${H} terminal`);
    console.log((await inProcess(t.pid)).join('\n'));
    console.log((await realGtop(t.pid, 20)).join('\n'));
  } finally {
    t.stop();
  }
}
