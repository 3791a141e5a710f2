// What recording a user stack per park (gtop_config.park_stacks) adds to a
// park: the events ping-pong (test/go/events) pinned to one CPU with
// GOMAXPROCS=1, so every round trip is two parks and two readies, with the
// park and ready probes attached, stacks off and on, alternating runs.
// Extra per park = Δ(ns per trip) / (parks per trip). Run as root:
//   node --import=tsx bench/park-stacks.ts [trips] [rounds]
import { spawn } from 'node:child_process';
import { loadBinary } from '../src/binary/index.ts';
import { ProbeSession } from '../src/bpf/session.ts';
import { attachTarget } from '../src/bpf/target.ts';
import { openTarget } from '../src/target/process.ts';
import { buildFixture } from '../test/helpers/build.ts';
import { lineWaiter } from '../test/helpers/lines.ts';
import { TOOLCHAINS } from '../test/helpers/toolchains.ts';

const trips = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 6);
const bin = await buildFixture('events', TOOLCHAINS.at(-1)!, { stripped: false, pie: false });
const child = spawn('taskset', ['-c', '0', bin], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, GOMAXPROCS: '1' } });
// A bench round can take minutes on a loaded machine.
const next = lineWaiter(child, 10 * 60_000);
const [, pid] = await next(/^ready pid=(\d+)/);
const target = attachTarget(openTarget(Number(pid)), loadBinary(bin));

async function run(parkStacks: boolean | undefined): Promise<{ ns: number; parksPerTrip: number }> {
  const s = parkStacks === undefined ? undefined : ProbeSession.open({ probes: ['park', 'ready'], parkStacks, emit: [] });
  s?.attach(target);
  child.stdin!.write(`pingpong ${trips}\n`);
  const [, ns] = await next(/^pingpong n=\d+ ns=(\d+)/);
  const parks = s?.counters().events.park ?? 0;
  s?.close();
  return { ns: Number(ns), parksPerTrip: parks / trips };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
await run(undefined); // warm-up
const off: number[] = [], on: number[] = [], none: number[] = [];
let ppt = 0;
for (let r = 0; r < rounds; r++) {
  none.push((await run(undefined)).ns);
  off.push((await run(false)).ns);
  const x = await run(true);
  on.push(x.ns);
  ppt = x.parksPerTrip;
}
const extra = (median(on) - median(off)) / ppt;
console.log(JSON.stringify({ trips, rounds, nsPerTrip: { noProbes: median(none), stacksOff: median(off), stacksOn: median(on) }, parksPerTrip: ppt, extraNsPerPark: Math.round(extra), all: { none, off, on } }));
child.kill();
