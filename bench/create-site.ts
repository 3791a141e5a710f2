// What a create probe costs per hit at each placement: the events program's
// churn (test/go/events: N goroutines created that exit at once) pinned to
// one CPU with GOMAXPROCS=1; the target's CPU time (schedstat of all its
// threads) per churn with no probe, with `create` read in newproc1's callers
// (the default, kernel-emulated), and with it on newproc1's RETs
// (single-stepped), in alternating runs. Each create event goes to the ring
// buffer, as in the default mode. Per hit = Δ(CPU) / creates.
// Run as root:  node --import=tsx bench/create-site.ts [goroutines] [rounds] [go minor]
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadBinary } from '../src/binary/index.ts';
import { ProbeSession } from '../src/bpf/session.ts';
import { attachTarget } from '../src/bpf/target.ts';
import { openTarget } from '../src/target/process.ts';
import { buildFixture } from '../test/helpers/build.ts';
import { lineWaiter } from '../test/helpers/lines.ts';
import { toolchainByMinor } from '../test/helpers/toolchains.ts';

const n = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 6);
const bin = await buildFixture('events', toolchainByMinor(Number(process.argv[4] ?? 26)), { stripped: false, pie: false });
const child = spawn('taskset', ['-c', '0', bin], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, GOMAXPROCS: '1' } });
// A bench round can take minutes on a loaded machine.
const next = lineWaiter(child, 10 * 60_000);
const [, pidStr] = await next(/^ready pid=(\d+)/);
const pid = Number(pidStr);
const target = attachTarget(openTarget(pid), loadBinary(bin));

/** CPU ns of all the target's threads so far. */
function cpuNs(): number {
  let sum = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) sum += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
  return sum;
}

type Mode = 'none' | 'callers' | 'rets';
async function run(mode: Mode): Promise<{ ns: number; hits: number; sites: string }> {
  const s = mode === 'none' ? undefined : ProbeSession.open({ probes: ['create'], emit: ['create'], placement: mode === 'rets' ? 'entry' : 'best' });
  const sites = s?.attach(target).map((x) => `${x.func}+0x${x.offset.toString(16)} ${x.emulation ?? 'single-stepped'}`).join(', ') ?? '';
  const before = cpuNs();
  child.stdin!.write(`churn ${n}\n`);
  await next(/^churn parent=\d+ n=\d+/);
  const ns = cpuNs() - before;
  const hits = s?.counters().events.create ?? 0;
  if (s && s.drops() > 0) throw new Error(`${mode}: ${s.drops()} events dropped`);
  s?.close();
  return { ns, hits, sites };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
await run('none'); // warm-up
const ns: Record<Mode, number[]> = { none: [], callers: [], rets: [] };
const sites: Partial<Record<Mode, string>> = {};
for (let r = 0; r < rounds; r++) {
  for (const m of ['none', 'callers', 'rets'] as const) {
    const x = await run(m);
    if (m !== 'none' && x.hits < n) throw new Error(`${m}: ${x.hits} create hits for ${n} goroutines`);
    ns[m].push(x.ns);
    sites[m] = x.sites;
  }
}
const per = (m: Mode) => Math.round((median(ns[m]) - median(ns.none)) / n);
console.log(JSON.stringify({
  goroutines: n, rounds, cpuNsPerGoroutine: { none: Math.round(median(ns.none) / n), callers: Math.round(median(ns.callers) / n), rets: Math.round(median(ns.rets) / n) },
  extraNsPerCreate: { callers: per('callers'), rets: per('rets') }, sites, all: ns,
}));
child.kill();
