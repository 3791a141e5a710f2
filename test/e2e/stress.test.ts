// Stress under every probe: deep recursion (stack growth and shrinking),
// goroutine churn, channels and GC pressure (test/go/stress) while gtop
// streams --events --probes full. The target must never crash and every
// result it checks must be right; after `kill -9` of gtop no probe is left.
// GTOP_STRESS_SECONDS per Go version (default 60, the minute). The
// versions run concurrently, so the suite pays that minute once.
// Needs root (CAP_BPF + CAP_PERFMON): without it these tests fail, loudly.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { createInterface } from 'node:readline';
import test from 'ava';
import { loadBinary } from '../../src/binary/index.ts';
import { openTarget } from '../../src/target/process.ts';
import { buildFixture } from '../helpers/build.ts';
import { spawnGtop } from '../helpers/gtop.ts';
import { TOOLCHAINS } from '../helpers/toolchains.ts';

const SECONDS = Number(process.env['GTOP_STRESS_SECONDS'] ?? 60);
// create sits in newproc1's callers (src/bpf/result-sites.ts), not in newproc1.
const PROBED = ['runtime.gopark', 'runtime.ready', 'runtime.goexit1', 'runtime.newproc.func1', 'runtime.debugCallWrap.func1', 'runtime.makechan', 'runtime.closechan', 'runtime.chansend', 'runtime.chanrecv'];

function requireBpf(): void {
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
  const caps = BigInt(`0x${capEff}`);
  if (!(((caps >> 21n) & 1n) || (((caps >> 38n) & 1n) && ((caps >> 39n) & 1n)))) {
    throw new Error(`the stress test needs root (CAP_BPF and CAP_PERFMON); this process has CapEff=${capEff}`);
  }
}

/** Probed functions whose code in the target differs from the executable file. */
function patched(pid: number): string[] {
  const proc = openTarget(pid);
  const info = loadBinary(proc.exePath);
  const bias = proc.loadBias(info.elf);
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  try {
    return PROBED.filter((name) => {
      const fn = info.pclntab.funcByName(name)!;
      const want = info.elf.readVaddr(fn.entry, fn.end - fn.entry);
      const got = Buffer.alloc(want.length);
      readSync(fd, got, 0, got.length, bias + fn.entry);
      return !got.equals(want);
    });
  } finally {
    closeSync(fd);
  }
}

for (const tc of TOOLCHAINS.filter((x) => [19, 22, 23, 26].includes(x.minor))) {
  test(`go1.${tc.minor}: ${SECONDS}s of recursion, churn and GC under all probes; kill -9 of gtop leaves nothing`, async (t) => {
    requireBpf();
    t.timeout((SECONDS + 120) * 1000);
    const bin = await buildFixture('stress', tc, { stripped: tc.minor === 23, pie: tc.minor === 23 });
    // It runs until SIGUSR1 (below), with a cap in case the test dies.
    const child = spawn(bin, ['-seconds', String(SECONDS + 300)], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.teardown(() => { child.kill('SIGKILL'); });
    const lines: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    while (!lines.some((l) => l.startsWith('ready'))) await new Promise((r) => setTimeout(r, 50));

    // All probes, and a budget that never detaches them: the point is to run them.
    const gtop = spawnGtop(['-p', String(child.pid), '--events', '--probes', 'full', '--overhead', '100'], { timeoutMs: (SECONDS + 60) * 1000 });
    let events = 0;
    // spawnGtop reads stdout as utf8 text.
    gtop.child.stdout!.on('data', (d: string) => { for (const c of d) if (c === '\n') events++; });
    const attachBy = Date.now() + 30_000;
    while (patched(child.pid!).length < PROBED.length && Date.now() < attachBy) await new Promise((r) => setTimeout(r, 100));
    t.deepEqual(patched(child.pid!), PROBED, 'every probe is in');
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    t.is(child.exitCode, null, 'the target still runs');
    gtop.child.kill('SIGKILL');
    const res = await gtop.result;
    t.is(res.code, null, `gtop was killed (stderr: ${res.stderr})`);
    t.deepEqual(patched(child.pid!), [], 'after kill -9 of gtop the code reads back unpatched');
    child.kill('SIGUSR1'); // finish the round and print the verdict

    t.is(await exited, 0, lines.slice(-3).join(' | '));
    t.false(lines.some((l) => l.startsWith('BAD')), lines.find((l) => l.startsWith('BAD')));
    const rounds = Number(/^done rounds=(\d+)$/.exec(lines.at(-1) ?? '')?.[1]);
    t.true(rounds > 0, lines.at(-1));
    t.true(events > 1000, `${events} events streamed`);
    t.log(`${rounds} rounds, ${events} events`);
  });
}
