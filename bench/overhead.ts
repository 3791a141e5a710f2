// bench/overhead: what watching costs the target, in one run. Two targets —
// a channel ping-pong (test/go/busy, prints "OPS n/s") and an HTTP server
// (bench/go/hello) under wrk on loopback — each measured without a tracer,
// under gtop's default mode (light probes, 1% budget), under all probes
// (--probes full --overhead 100: nothing detached), and under a naive
// equivalent (bpftrace uprobes on the same functions' entries). Prints
// throughput, ratios to the baseline, and the cost per probe hit estimated
// from the ping-pong. Also the tracer's own CPU (it shares CPU 1 with wrk,
// so it can lower HTTP throughput without costing the target anything).
// REPEAT runs every tracer that many times, interleaved, and prints the
// median ratio with the spread. Figures only, no assertions. Run as root,
// after `npm run build` (bin/gtop then runs dist/, not tsx):
//
//   node --import=tsx bench/overhead.ts [SECONDS per measurement, default 5] [REPEAT, default 1]
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, buildGo } from './common.ts';

const SECS = Number(process.argv[2] ?? 5);
const REPEAT = Number(process.argv[3] ?? 1);
const FUNCS = ['runtime.gopark', 'runtime.ready', 'runtime.goexit1', 'runtime.newproc1', 'runtime.makechan'];

interface Tracer { name: string; start(pid: number, exe: string): Promise<{ pid?: number; stop(): Promise<string> }> }

// On a 2-core machine a tracer's own CPU would be taken from the target and
// counted as probe overhead: the target runs on CPU 0 alone (GOMAXPROCS=1),
// tracers and the load generator on CPU 1. What is left is the cost the
// probes put into the target's own threads.
const TARGET_CPU = '0';
const TOOL_CPU = '1';

function startProc(cmd: string, args: string[], cpu = TOOL_CPU, env: NodeJS.ProcessEnv = {}): { child: ChildProcess; lines: string[] } {
  const child = spawn('taskset', ['-c', cpu, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  child.stderr!.on('data', () => {});
  return { child, lines };
}

async function stopProc(child: ChildProcess, sig: NodeJS.Signals = 'SIGINT'): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill(sig);
  await done;
}

const TRACERS: Tracer[] = [
  { name: 'none', start: async () => ({ stop: async () => '' }) },
  ...(['default', 'full'] as const).map((mode): Tracer => ({
    name: `gtop ${mode}`,
    start: async (pid) => {
      const args = [`${ROOT}bin/gtop`, '-p', String(pid), '--once', '--json', '--duration', `${SECS + 4}s`, ...(mode === 'full' ? ['--probes', 'full', '--overhead', '100'] : [])];
      const p = startProc(process.execPath, args);
      // Node start-up, binary reading, attach, the first snapshot: on a busy
      // machine these take longer than any fixed wait, so wait until gtop's
      // own CPU use has settled (else its start-up lands in the window).
      await sleep(2500);
      for (let t0 = Date.now(), last = cpuSeconds(p.child.pid!); Date.now() - t0 < 20_000;) {
        await sleep(500);
        const now = cpuSeconds(p.child.pid!);
        if (!(now - last > 0.05)) break;
        last = now;
      }
      return { pid: p.child.pid!, stop: async () => { await stopProc(p.child, 'SIGKILL'); return ''; } };
    },
  })),
  {
    // No probes: a process on the tracer's CPU that wakes every 20 ms and
    // burns 0.6 ms (3 %, what gtop's default mode uses there). On HTTP, wrk
    // shares that CPU and any such neighbour slows it, so this row is the
    // share of a tracer's "loss" that is the bench's, not the target's.
    name: 'CPU control',
    start: async () => {
      const code = 'setInterval(() => { const t = performance.now(); while (performance.now() - t < 0.6); }, 20)';
      const p = startProc(process.execPath, ['-e', code]);
      await sleep(1000);
      return { pid: p.child.pid!, stop: async () => { await stopProc(p.child, 'SIGKILL'); return ''; } };
    },
  },
  {
    name: 'bpftrace entries',
    start: async (pid, exe) => {
      const prog = FUNCS.map((f) => `uprobe:${exe}:${f} { @[probe] = count(); }`).join(' ');
      const p = startProc('bpftrace', ['-p', String(pid), '-e', prog]);
      const t0 = Date.now();
      while (!p.lines.some((l) => l.startsWith('Attaching')) && Date.now() - t0 < 20_000) await sleep(100);
      await sleep(1000);
      return { pid: p.child.pid!, stop: async () => { await stopProc(p.child, 'SIGINT'); return p.lines.join('\n'); } };
    },
  },
];

/** CPU seconds the process has used (utime + stime from /proc/PID/stat). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return NaN; // the tracer died
  }
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
}

/** rate: ops/s; cpuPerOpUs: the target's CPU per op; toolPct: the tracer's CPU, % of one CPU. */
interface Result { rate: number; cpuPerOpUs: number; toolPct: number }

/** Mean OPS of the busy ping-pong over SECS seconds. */
async function pingpong(bin: string, tracer: Tracer): Promise<Result> {
  const p = startProc(bin, ['-interval', '500ms'], TARGET_CPU, { GOMAXPROCS: '1' });
  while (!p.lines.some((l) => l.startsWith('READY'))) await sleep(50);
  await sleep(1000);
  const t = await tracer.start(p.child.pid!, bin);
  const from = p.lines.length;
  const cpu0 = cpuSeconds(p.child.pid!), tool0 = cpuSeconds(t.pid);
  const t0 = performance.now();
  await sleep(SECS * 1000);
  const cpu = cpuSeconds(p.child.pid!) - cpu0, tool = cpuSeconds(t.pid) - tool0;
  const secs = (performance.now() - t0) / 1000;
  const ops = p.lines.slice(from).map((l) => Number(/^OPS (\d+)/.exec(l)?.[1])).filter((n) => n > 0);
  await t.stop();
  await stopProc(p.child, 'SIGKILL');
  const rate = ops.reduce((a, b) => a + b, 0) / Math.max(1, ops.length);
  return { rate, cpuPerOpUs: (cpu / (rate * secs)) * 1e6, toolPct: (tool / secs) * 100 };
}

/** wrk requests/s against the hello server. */
async function http(bin: string, tracer: Tracer): Promise<Result> {
  const p = startProc(bin, [], TARGET_CPU, { GOMAXPROCS: '1' });
  while (!p.lines.some((l) => l.startsWith('READY'))) await sleep(50);
  const url = p.lines.find((l) => l.startsWith('READY'))!.slice(6);
  const t = await tracer.start(p.child.pid!, bin);
  const cpu0 = cpuSeconds(p.child.pid!), tool0 = cpuSeconds(t.pid);
  const t0 = performance.now();
  const text = execFileSync('taskset', ['-c', TOOL_CPU, 'wrk', '-t1', '-c16', `-d${SECS}s`, `${url}/`], { encoding: 'utf8' });
  const cpu = cpuSeconds(p.child.pid!) - cpu0, tool = cpuSeconds(t.pid) - tool0;
  const secs = (performance.now() - t0) / 1000;
  await t.stop();
  await stopProc(p.child, 'SIGKILL');
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN);
  return { rate: Number(/Requests\/sec:\s*([\d.]+)/.exec(text)?.[1] ?? NaN), cpuPerOpUs: (cpu / requests) * 1e6, toolPct: (tool / secs) * 100 };
}

if (!existsSync(`${ROOT}dist/src/cli/main.js`)) console.warn('no dist/: bin/gtop runs from source through tsx (its compile lands in the window); run `npm run build` first');
const busy = buildGo(`${ROOT}test/go`, './busy', 'busy');
const hello = buildGo(`${ROOT}bench/go`, './hello', 'hello');
const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? NaN;
const spread = (v: number[], d: number): string => (v.length > 1 ? ` (${Math.min(...v).toFixed(d)}–${Math.max(...v).toFixed(d)})` : '');
console.log(`${SECS} s per run, ${REPEAT} run(s) each, interleaved; load average ${loadavg()}`);
// Throughput can also drop because the tracer's process competes with the
// load generator on CPU 1 (tool CPU column); the target's own CPU time per
// operation does not, so its ratio is the probe overhead proper.
console.log(`${'target'.padEnd(16)} ${'tracer'.padEnd(18)} ${'rate'.padStart(10)}  ratio${REPEAT > 1 ? ' (min–max)  ' : ''}  ${'CPU µs/op'.padStart(9)}  ratio  tool CPU`);
for (const [name, run, bin] of [['ping-pong OPS/s', pingpong, busy], ['HTTP req/s', http, hello]] as const) {
  // Each round measures the baseline next to every tracer: ratios within a round share the machine's state.
  const rows = TRACERS.map(() => ({ rate: [] as number[], ratio: [] as number[], cpu: [] as number[], cpuRatio: [] as number[], tool: [] as number[] }));
  for (let i = 0; i < REPEAT; i++) {
    const base = await run(bin, TRACERS[0]!);
    for (const [k, tr] of TRACERS.entries()) {
      const r = k === 0 ? base : await run(bin, tr);
      const row = rows[k]!;
      row.rate.push(r.rate); row.ratio.push(r.rate / base.rate); row.cpu.push(r.cpuPerOpUs); row.cpuRatio.push(r.cpuPerOpUs / base.cpuPerOpUs); row.tool.push(r.toolPct);
    }
  }
  for (const [k, tr] of TRACERS.entries()) {
    const r = rows[k]!;
    console.log(`${name.padEnd(16)} ${tr.name.padEnd(18)} ${median(r.rate).toFixed(0).padStart(10)}  ${median(r.ratio).toFixed(3)}${spread(r.ratio, 3)}  ${median(r.cpu).toFixed(3).padStart(9)}  ${median(r.cpuRatio).toFixed(3)}${spread(r.cpuRatio, 3)}  ${median(r.tool).toFixed(1)}%`);
  }
}
console.log(`load average at the end ${loadavg()}`);
