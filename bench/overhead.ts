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
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(`${dir}/package.json`)) dir = dirname(dir);
  return `${dir}/`;
}
const root = repoRoot();
const out = `${root}.cache/bench`;
const SECS = Number(process.argv[2] ?? 5);
const FUNCS = ['runtime.gopark', 'runtime.ready', 'runtime.goexit1', 'runtime.newproc1', 'runtime.makechan'];

function build(dir: string, pkg: string, name: string): string {
  mkdirSync(out, { recursive: true });
  const bin = `${out}/${name}`;
  execFileSync('go', ['build', '-o', bin, pkg], { cwd: dir, stdio: 'inherit', env: { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0' } });
  return bin;
}

interface Tracer { name: string; start(pid: number, exe: string): Promise<{ stop(): Promise<string> }> }

function startProc(cmd: string, args: string[]): { child: ChildProcess; lines: string[] } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
      const args = [`${root}bin/gtop`, '-p', String(pid), '--once', '--json', '--duration', `${SECS + 4}s`, ...(mode === 'full' ? ['--probes', 'full', '--overhead', '100'] : [])];
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

/** Mean OPS of the busy ping-pong over SECS seconds. */
async function pingpong(bin: string, tracer: Tracer): Promise<number> {
  const p = startProc(bin, ['-interval', '500ms']);
  while (!p.lines.some((l) => l.startsWith('READY'))) await sleep(50);
  await sleep(1000);
  const t = await tracer.start(p.child.pid!, bin);
  const from = p.lines.length;
  await sleep(SECS * 1000);
  const ops = p.lines.slice(from).map((l) => Number(/^OPS (\d+)/.exec(l)?.[1])).filter((n) => n > 0);
  await t.stop();
  await stopProc(p.child, 'SIGKILL');
  return ops.reduce((a, b) => a + b, 0) / Math.max(1, ops.length);
}

/** wrk requests/s against the hello server. */
async function http(bin: string, tracer: Tracer): Promise<number> {
  const p = startProc(bin, []);
  while (!p.lines.some((l) => l.startsWith('READY'))) await sleep(50);
  const url = p.lines.find((l) => l.startsWith('READY'))!.slice(6);
  const t = await tracer.start(p.child.pid!, bin);
  const text = execFileSync('wrk', ['-t1', '-c16', `-d${SECS}s`, `${url}/`], { encoding: 'utf8' });
  await t.stop();
  await stopProc(p.child, 'SIGKILL');
  return Number(/Requests\/sec:\s*([\d.]+)/.exec(text)?.[1] ?? NaN);
}

const busy = build(`${root}test/go`, './busy', 'busy');
const hello = build(`${root}bench/go`, './hello', 'hello');
for (const [name, run, bin] of [['ping-pong OPS/s', pingpong, busy], ['HTTP req/s', http, hello]] as const) {
  const base = await run(bin, TRACERS[0]!);
  console.log(`${name.padEnd(16)} ${'none'.padEnd(18)} ${base.toFixed(0).padStart(10)}  1.000`);
  for (const tr of TRACERS.slice(1)) {
    const v = await run(bin, tr);
    console.log(`${name.padEnd(16)} ${tr.name.padEnd(18)} ${v.toFixed(0).padStart(10)}  ${(v / base).toFixed(3)}`);
  }
}
