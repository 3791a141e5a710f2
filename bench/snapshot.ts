// bench/snapshot: gtop's snapshot of 10k and 100k parked goroutines against the
// runtime's own debug=2 dump of the same process, in one run. For each it
// prints the wall time and the target's longest scheduling stall while it ran
// (measured inside the target by a 1 ms ticker), plus the idle stall baseline.
//
//   npm run build && node dist/bench/snapshot.js [N ...]   (default: 10000 100000)
//   (node --import=tsx bench/snapshot.ts works too, slower by tsx's transforms)
import { setTimeout as sleep } from 'node:timers/promises';
import { Session } from '../src/session.ts';
import { buildParked, startParked } from './common.ts';

async function stallMs(url: string): Promise<number> {
  const text = await (await fetch(`${url}/stall`)).text();
  return Number(text.trim()) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function measure(bin: string, n: number): Promise<string[]> {
  const t = await startParked(bin, n);
  try {
    await sleep(1000);
    await stallMs(t.url);
    await sleep(2000);
    const idle = await stallMs(t.url);

    const session = Session.open(t.pid);
    const gtopTimes: number[] = [];
    let goroutines = 0;
    let reads = 0;
    await stallMs(t.url);
    for (let i = 0; i < 5; i++) {
      const snap = session.snapshot();
      gtopTimes.push(snap.durationMs);
      goroutines = snap.goroutines.length;
      reads = snap.reads;
    }
    const gtopStall = await stallMs(t.url);
    session.close();

    const dumpTimes: number[] = [];
    let dumpStall = 0;
    for (let i = 0; i < 3; i++) {
      await stallMs(t.url);
      const t0 = performance.now();
      const text = await (await fetch(`${t.url}/debug/pprof/goroutine?debug=2`)).text();
      dumpTimes.push(performance.now() - t0);
      dumpStall = Math.max(dumpStall, await stallMs(t.url));
      if (!text.startsWith('goroutine ')) throw new Error('unexpected dump');
    }
    const g = median(gtopTimes);
    const d = median(dumpTimes);
    return [
      `${n} parked goroutines (gtop saw ${goroutines}, ${reads} read syscalls per snapshot)`,
      `  gtop snapshot     ${g.toFixed(1).padStart(8)} ms   longest target stall ${gtopStall.toFixed(2)} ms`,
      `  debug=2 dump      ${d.toFixed(1).padStart(8)} ms   longest target stall ${dumpStall.toFixed(2)} ms`,
      `  idle baseline                    longest target stall ${idle.toFixed(2)} ms`,
      `  ratio dump/gtop: time ${(d / g).toFixed(2)}x, stall ${(dumpStall / Math.max(gtopStall, 0.001)).toFixed(1)}x`,
    ];
  } finally {
    t.stop();
  }
}

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const bin = buildParked();
for (const n of sizes.length ? sizes : [10_000, 100_000]) {
  console.log((await measure(bin, n)).join('\n'));
}
