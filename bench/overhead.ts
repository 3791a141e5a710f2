// bench/overhead: what watching costs the target, in one run. Two targets —
// a channel ping-pong (test/go/busy, prints "OPS n/s") and an HTTP server
// (bench/go/hello) under wrk on loopback — each measured without a tracer,
// under gtop's default mode (light probes, 1% budget), under all probes
// (--probes full --overhead 100: nothing detached), and under a naive
// equivalent (bpftrace uprobes on the same functions' entries). Prints
// throughput, ratios to the baseline, and the cost per probe hit estimated
// from the ping-pong. Figures only, no assertions. Run as root:
//
//   node --import=tsx bench/overhead.ts [SECONDS per measurement, default 5]
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, buildGo } from './common.ts';

const SECS = Number(process.argv[2] ?? 5);
const FUNCS = ['runtime.gopark', 'runtime.ready', 'runtime.goexit1', 'runtime.newproc1', 'runtime.makechan'];

interface Tracer { name: string; start(pid: number, exe: string): Promise<{ stop(): Promise<string> }> }

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
      await sleep(2500); // node start-up, attach, start snapshot
      return { stop: async () => { await stopProc(p.child, 'SIGKILL'); return ''; } };
    },
  })),
  {
    name: 'bpftrace entries',
    start: async (pid, exe) => {
      const prog = FUNCS.map((f) => `uprobe:${exe}:${f} { @[probe] = count(); }`).join(' ');
      const p = startProc('bpftrace', ['-p', String(pid), '-e', prog]);
      const t0 = Date.now();
      while (!p.lines.some((l) => l.startsWith('Attaching')) && Date.now() - t0 < 20_000) await sleep(100);
      await sleep(1000);
      return { stop: async () => { await stopProc(p.child, 'SIGINT'); return p.lines.join('\n'); } };
    },
  },
];

/** CPU seconds the process has used (utime + stime from /proc/PID/stat). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
}

interface Result { rate: number; cpuPerOpUs: number }

/** Mean OPS of the busy ping-pong over SECS seconds. */
async function pingpong(bin: string, tracer: Tracer): Promise<Result> {
  const p = startProc(bin, ['-interval', '500ms'], TARGET_CPU, { GOMAXPROCS: '1' });
  while (!p.lines.some((l) => l.startsWith('READY'))) await sleep(50);
  await sleep(1000);
  const t = await tracer.start(p.child.pid!, bin);
  const from = p.lines.length;
  const cpu0 = cpuSeconds(p.child.pid!);
  const t0 = performance.now();
  await sleep(SECS * 1000);
  const cpu = cpuSeconds(p.child.pid!) - cpu0;
  const secs = (performance.now() - t0) / 1000;
  const ops = p.lines.slice(from).map((l) => Number(/^OPS (\d+)/.exec(l)?.[1])).filter((n) => n > 0);
  await t.stop();
  await stopProc(p.child, 'SIGKILL');
  const rate = ops.reduce((a, b) => a + b, 0) / Math.max(1, ops.length);
  return { rate, cpuPerOpUs: (cpu / (rate * secs)) * 1e6 };
}

/** wrk requests/s against the hello server. */
async function http(bin: string, tracer: Tracer): Promise<Result> {
  const p = startProc(bin, [], TARGET_CPU, { GOMAXPROCS: '1' });
  while (!p.lines.some((l) => l.startsWith('READY'))) await sleep(50);
  const url = p.lines.find((l) => l.startsWith('READY'))!.slice(6);
  const t = await tracer.start(p.child.pid!, bin);
  const cpu0 = cpuSeconds(p.child.pid!);
  const text = execFileSync('taskset', ['-c', TOOL_CPU, 'wrk', '-t1', '-c16', `-d${SECS}s`, `${url}/`], { encoding: 'utf8' });
  const cpu = cpuSeconds(p.child.pid!) - cpu0;
  await t.stop();
  await stopProc(p.child, 'SIGKILL');
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN);
  return { rate: Number(/Requests\/sec:\s*([\d.]+)/.exec(text)?.[1] ?? NaN), cpuPerOpUs: (cpu / requests) * 1e6 };
}

const busy = buildGo(`${ROOT}test/go`, './busy', 'busy');
const hello = buildGo(`${ROOT}bench/go`, './hello', 'hello');
// Throughput can also drop because the tracer's process competes with the
// load generator on CPU 1; the target's own CPU time per operation does not,
// so its ratio is the probe overhead proper.
console.log(`${'target'.padEnd(16)} ${'tracer'.padEnd(18)} ${'rate'.padStart(10)}  ratio  ${'CPU µs/op'.padStart(9)}  ratio`);
for (const [name, run, bin] of [['ping-pong OPS/s', pingpong, busy], ['HTTP req/s', http, hello]] as const) {
  const base = await run(bin, TRACERS[0]!);
  const line = (tr: string, r: Result): string =>
    `${name.padEnd(16)} ${tr.padEnd(18)} ${r.rate.toFixed(0).padStart(10)}  ${(r.rate / base.rate).toFixed(3)}  ${r.cpuPerOpUs.toFixed(3).padStart(9)}  ${(r.cpuPerOpUs / base.cpuPerOpUs).toFixed(3)}`;
  console.log(line('none', base));
  for (const tr of TRACERS.slice(1)) console.log(line(tr.name, await run(bin, tr)));
}
