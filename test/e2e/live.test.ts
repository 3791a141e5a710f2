// gtop --once --json --duration and gtop --events against the events program
// (test/go/events), run as a user would (bin/gtop). Times are never compared
// with wall-clock constants: the Go program measures its own intervals and
// gtop must agree with them within 30 ms.
// Needs root (CAP_BPF + CAP_PERFMON): without it these tests fail, loudly.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import { loadBinary } from '../../src/binary/index.ts';
import { openTarget } from '../../src/target/process.ts';
import { buildFixture } from '../helpers/build.ts';
import { runGtop, spawnGtop } from '../helpers/gtop.ts';
import { lineWaiter } from '../helpers/lines.ts';
import { TOOLCHAINS } from '../helpers/toolchains.ts';

const SLACK_MS = 30;
const CHURN = 200;

function requireBpf(): void {
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
  const caps = BigInt(`0x${capEff}`);
  if (!(((caps >> 21n) & 1n) || (((caps >> 38n) & 1n) && ((caps >> 39n) & 1n)))) {
    throw new Error(`the live tests need root (CAP_BPF and CAP_PERFMON); this process has CapEff=${capEff}`);
  }
}

interface Target { pid: number; send(cmd: string): void; line(re: RegExp): Promise<RegExpExecArray>; exited: Promise<number | null> }

async function startEvents(t: ExecutionContext, bin: string): Promise<Target> {
  const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const line = lineWaiter(child, 20_000);
  await line(/^ready pid=\d+/);
  return { pid: child.pid!, send: (c) => child.stdin!.write(`${c}\n`), line, exited };
}

interface LiveJSON {
  takenAt: string;
  goroutines: { id: number; status: string; waitReason: string | null; blockedSeconds: number | null; channel: string | null }[];
  countsByState: Record<string, number>;
  created: number; exited: number; createdExact: boolean; exitedExact: boolean;
  probes: { mode: string; attached: string[]; detached: string[]; estimatedOverheadPct: number; budgetPct: number };
  drops: number;
}

const CASES = TOOLCHAINS.filter((tc) => [19, 23, 26].includes(tc.minor));

for (const tc of CASES) {
  test.serial(`go1.${tc.minor}: --duration gives the exact blocked time, channel, created/exited and counts by state`, async (t) => {
    requireBpf();
    const target = await startEvents(t, await buildFixture('events', tc, { stripped: tc.minor === 26, pie: tc.minor === 26 }));
    const before = await snapshotJSON(target.pid);
    const run = spawnGtop(['-p', String(target.pid), '--once', '--json', '--duration', '4s'], { timeoutMs: 60_000 });
    // Act only once the probes are attached: gtop prints nothing before the end, so wait for its links.
    await waitForUprobes(target.pid);
    target.send('hold');
    const [, addr, goid, start] = await target.line(/^hold addr=(0x[0-9a-f]+) goid=(\d+) start=(\d+)/);
    target.send(`churn ${CHURN}`);
    await target.line(new RegExp(`^churn parent=\\d+ n=${CHURN}$`));
    const res = await run.result;
    t.is(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as LiveJSON;
    const after = await snapshotJSON(target.pid);
    t.log(JSON.stringify({ ...out, goroutines: undefined }));

    const held = out.goroutines.find((g) => g.id === Number(goid))!;
    t.is(held.waitReason, 'chan receive');
    t.is(held.channel, addr, 'the channel the program made');
    // The program's own start, against gtop's snapshot time.
    const ownMs = Date.parse(out.takenAt) - Number(BigInt(start) / 1_000_000n);
    t.true(held.blockedSeconds !== null && Math.abs(held.blockedSeconds * 1000 - ownMs) <= SLACK_MS, `gtop ${held.blockedSeconds} s vs the program's ${ownMs} ms`);
    // The goroutines parked before the watch have no exact time.
    for (const g of out.goroutines) if (before.goroutines.some((b) => b.id === g.id && b.status === 'waiting' && g.status === 'waiting' && b.waitReason === g.waitReason && g.id !== 1)) t.is(g.blockedSeconds, null, `goroutine ${g.id} parked before the watch`);

    // churn: one fresh goroutine that creates CHURN workers; all exit. hold: one more, still parked.
    t.is(out.exited, CHURN + 1);
    t.is(out.created, CHURN + 2);
    t.true(out.exitedExact && out.createdExact);
    t.is(out.drops, 0);
    t.deepEqual(out.probes.attached, ['park', 'ready', 'exit', 'create', 'makechan', 'closechan']);
    t.true(out.probes.estimatedOverheadPct <= out.probes.budgetPct);

    // Counts by state agree with the listed goroutines, and goroutines stable
    // across snapshots before and after show the same status.
    const tally: Record<string, number> = {};
    for (const g of out.goroutines) tally[g.status] = (tally[g.status] ?? 0) + 1;
    t.deepEqual(out.countsByState, tally);
    for (const g of out.goroutines) {
      const b = before.goroutines.find((x) => x.id === g.id), a = after.goroutines.find((x) => x.id === g.id);
      if (b && a && b.status === a.status && b.waitReason === a.waitReason) t.is(g.status, a.status, `goroutine ${g.id}`);
    }
    target.send('release');
    await target.line(/^released/);
  });
}

test.serial('--events: the waker→woken pair of a channel hand-off, SIGINT exits 0 and releases the probes', async (t) => {
  requireBpf();
  const tc = TOOLCHAINS.find((x) => x.minor === 26)!;
  const target = await startEvents(t, await buildFixture('events', tc, { stripped: false, pie: false }));
  const run = spawnGtop(['-p', String(target.pid), '--events'], { timeoutMs: 60_000 });
  await waitForUprobes(target.pid);
  target.send('chan');
  const [, addr, recv, send] = await target.line(/^chan addr=(0x[0-9a-f]+) recv=(\d+) send=(\d+)/);
  const [, blocked] = await target.line(/^chan done blocked=(\d+)/);
  await new Promise((r) => setTimeout(r, 300));
  run.child.kill('SIGINT');
  const res = await run.result;
  t.is(res.code, 0, res.stderr);
  const evs = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const park = evs.find((e) => e['kind'] === 'park' && e['goid'] === Number(recv) && e['channel'] === addr);
  t.truthy(park, 'the receiver parked on the channel');
  t.is(park!['reason'], 'chan receive');
  const ready = evs.find((e) => e['kind'] === 'ready' && e['goid'] === Number(recv) && (e['ts'] as number) > (park!['ts'] as number));
  t.is(ready?.['waker'], Number(send), 'woken by the sender');
  const parkedMs = ((ready!['ts'] as number) - (park!['ts'] as number)) / 1e6;
  t.true(Math.abs(parkedMs - Number(blocked) / 1e6) <= SLACK_MS, `gtop ${parkedMs} ms vs the program's ${Number(blocked) / 1e6} ms`);
  assertReleased(t, target.pid);
});

for (const sig of ['SIGTERM', 'SIGHUP'] as const) {
  test.serial(`${sig} releases the probes`, async (t) => {
    requireBpf();
    const target = await startEvents(t, await buildFixture('events', TOOLCHAINS.at(-1)!, { stripped: false, pie: false }));
    const run = spawnGtop(['-p', String(target.pid), '--once', '--json', '--duration', '60s']);
    await waitForUprobes(target.pid);
    run.child.kill(sig);
    const res = await run.result;
    t.is(res.code, sig === 'SIGTERM' ? 143 : 129, res.stderr);
    assertReleased(t, target.pid);
  });
}

test.serial('the target exiting mid-watch is reported, not a crash', async (t) => {
  requireBpf();
  const target = await startEvents(t, await buildFixture('events', TOOLCHAINS.at(-1)!, { stripped: false, pie: false }));
  const run = spawnGtop(['-p', String(target.pid), '--once', '--json', '--duration', '60s']);
  await waitForUprobes(target.pid);
  target.send('quit');
  await target.exited;
  const res = await run.result;
  t.is(res.code, 1);
  t.regex(res.stderr, new RegExp(`^gtop: process ${target.pid} exited while gtop was watching it\\n$`));
});

async function snapshotJSON(pid: number): Promise<LiveJSON> {
  const r = await runGtop(['-p', String(pid), '--once', '--json']);
  if (r.code !== 0) throw new Error(`gtop --once failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as LiveJSON;
}

/** Probed runtime functions whose code in the target differs from the file (an INT3 or the kernel's CALL is in). */
/** The functions the default (light) mode probes. */
const LIGHT_FUNCS = ['runtime.gopark', 'runtime.ready', 'runtime.goexit1', 'runtime.newproc.func1', 'runtime.makechan', 'runtime.closechan'];

function patchedFunctions(pid: number): number {
  const proc = openTarget(pid);
  const info = loadBinary(proc.exePath);
  const bias = proc.loadBias(info.elf);
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  try {
    let n = 0;
    for (const name of LIGHT_FUNCS) {
      const fn = info.pclntab.funcByName(name)!;
      const want = info.elf.readVaddr(fn.entry, fn.end - fn.entry);
      const got = Buffer.alloc(want.length);
      readSync(fd, got, 0, got.length, bias + fn.entry);
      if (!got.equals(want)) n++;
    }
    return n;
  } finally {
    closeSync(fd);
  }
}

/** After gtop: no probe left in the target, and no gtop BPF link left on the machine (bpftool). */
function assertReleased(t: ExecutionContext, pid: number): void {
  t.is(patchedFunctions(pid), 0, 'the code at every probe site reads back unpatched');
  const progs = JSON.parse(spawnSync('bpftool', ['prog', 'list', '--json'], { encoding: 'utf8' }).stdout || '[]') as { id: number; name?: string }[];
  const ours = new Set(progs.filter((p) => p.name?.startsWith('gtop_')).map((p) => p.id));
  const links = JSON.parse(spawnSync('bpftool', ['link', 'list', '--json'], { encoding: 'utf8' }).stdout || '[]') as { prog_id: number }[];
  // Other gtop runs on the machine may hold links of their own: report, don't fail, on those.
  t.log(`gtop BPF links on the machine: ${links.filter((l) => ours.has(l.prog_id)).length}`);
}

async function waitForUprobes(pid: number, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (patchedFunctions(pid) === LIGHT_FUNCS.length) {
      await new Promise((r) => setTimeout(r, 500)); // the start snapshot follows the attach
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('gtop did not attach its probes within 30 s');
}
