// Per-channel activity from the probes, against test/go/chans: the program
// makes and uses its channels only on command, after gtop attached, and
// prints the goroutine ids involved; make sites are found by the marker
// comments in its source, never by hard-coded line numbers.
// Needs root (CAP_BPF + CAP_PERFMON): without it these tests fail, loudly.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { loadBinary } from '../../src/binary/index.ts';
import { LiveWatcher } from '../../src/live/watcher.ts';
import { Session } from '../../src/session.ts';
import { openTarget } from '../../src/target/process.ts';
import { GO_DIR, buildFixture } from '../helpers/build.ts';
import { spawnGtop } from '../helpers/gtop.ts';
import { lineWaiter } from '../helpers/lines.ts';
import { type Toolchain, selectedToolchains } from '../helpers/toolchains.ts';

const SOURCE = path.join(GO_DIR, 'chans', 'main.go');
const K = 37;
const SENDERS = 5;

// Versions where what the probes rely on differs: chansend/chanrecv placement
// (1.19 vs 1.21), hchan.lock (88/96/104: 1.19, 1.23, 1.25), wait-reason numbers (1.26).
const CASES = selectedToolchains().filter((tc) => [19, 21, 23, 25, 26].includes(tc.minor));

function requireBpf(): void {
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
  const caps = BigInt(`0x${capEff}`);
  if (!(((caps >> 21n) & 1n) || (((caps >> 38n) & 1n) && ((caps >> 39n) & 1n)))) {
    throw new Error(`the channel activity tests need root (CAP_BPF and CAP_PERFMON); this process has CapEff=${capEff}`);
  }
}

/** Line of the `// MAKE-SITE name` marker in the Go source. */
function makeLine(name: string): number {
  const i = readFileSync(SOURCE, 'utf8').split('\n').findIndex((l) => l.includes(`// MAKE-SITE ${name}`));
  if (i < 0) throw new Error(`no MAKE-SITE ${name} marker in ${SOURCE}`);
  return i + 1;
}

interface Target { pid: number; goid: number; send(cmd: string): void; line(re: RegExp): Promise<RegExpExecArray> }

async function start(t: ExecutionContext, tc: Toolchain): Promise<Target> {
  const bin = await buildFixture('chans', tc, { stripped: tc.minor === 26, pie: tc.minor === 26 });
  const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  const line = lineWaiter(child, 30_000);
  const [, , goid] = await line(/^ready pid=(\d+) goid=(\d+)/);
  return { pid: child.pid!, goid: Number(goid), send: (c) => child.stdin!.write(`${c}\n`), line };
}

/** Waits until every function of `names` reads back patched in the target (gtop's probes are in). */
async function waitPatched(pid: number, names: readonly string[]): Promise<void> {
  const proc = openTarget(pid);
  const info = loadBinary(proc.exePath);
  const bias = proc.loadBias(info.elf);
  const end = Date.now() + 30_000;
  while (Date.now() < end) {
    const fd = openSync(`/proc/${pid}/mem`, 'r');
    let n = 0;
    try {
      for (const name of names) {
        const fn = info.pclntab.funcByName(name)!;
        const want = info.elf.readVaddr(fn.entry, fn.end - fn.entry);
        const got = Buffer.alloc(want.length);
        readSync(fd, got, 0, got.length, bias + fn.entry);
        if (!got.equals(want)) n++;
      }
    } finally {
      closeSync(fd);
    }
    if (n === names.length) {
      await new Promise((r) => setTimeout(r, 500)); // the start snapshot follows the attach
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gtop did not attach its probes within 30 s`);
}

interface ChannelOut {
  address: string; len: number; cap: number; closed: boolean;
  senders: { goroutine: number }[]; receivers: { goroutine: number }[];
  made: { function: string; file: string; line: number; goroutine: number; secondsAgo: number } | null;
  activity: { sends: number; recvs: number; opsExact: boolean; parks: number; wakes: number } | null;
}

for (const tc of CASES) {
  test.serial(`go1.${tc.minor}: --duration JSON: a stuck consumer's channel with its ${SENDERS} blocked senders, len/cap and make site`, async (t) => {
    requireBpf();
    const target = await start(t, tc);
    const run = spawnGtop(['-p', String(target.pid), '--once', '--json', '--duration', '3s'], { timeoutMs: 90_000 });
    await waitPatched(target.pid, ['runtime.gopark', 'runtime.ready', 'runtime.makechan', 'runtime.closechan']);
    target.send(`stuck ${SENDERS}`);
    const [, addr] = await target.line(/^stuck addr=(0x[0-9a-f]+) n=\d+ len=3 cap=3$/);
    const res = await run.result;
    t.is(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { channels: ChannelOut[] };
    const ch = out.channels.find((c) => c.address === addr);
    t.truthy(ch, `channel ${addr} among ${out.channels.map((c) => c.address).join(' ')}`);
    t.log(JSON.stringify(ch));
    t.is(ch!.senders.length, SENDERS);
    t.is(ch!.receivers.length, 0);
    t.is(ch!.len, 3);
    t.is(ch!.cap, 3);
    // newQueue is inlined into stuck: the make site is the inlined frame's position.
    t.like(ch!.made, { function: 'main.newQueue', line: makeLine('stuck'), goroutine: target.goid });
    t.true(ch!.made!.file.endsWith('/test/go/chans/main.go'), ch!.made!.file);
    t.true(ch!.made!.secondsAgo >= 0);
    // Light mode: parks are counted, sends are not probed.
    t.like(ch!.activity, { parks: SENDERS, wakes: 0, sends: 0, recvs: 0, opsExact: false });
  });

  test.serial(`go1.${tc.minor}: LiveWatcher.channel in full mode: waker→woken of a hand-off, exact send/recv counts and goids, the closer`, async (t) => {
    requireBpf();
    const target = await start(t, tc);
    const session = Session.open(target.pid);
    // A budget no test load can exceed: the point here is what the probes see, not the governor.
    const w = new LiveWatcher(session, { mode: 'full', budgetPct: 100 });
    t.teardown(() => w.close());

    target.send('handoff');
    const [, hAddr, waker, woken] = await target.line(/^handoff addr=(0x[0-9a-f]+) waker=(\d+) woken=(\d+)$/);
    const h = w.channel(Number(hAddr));
    t.log(JSON.stringify(h));
    t.like(h, { parks: 1, wakes: 1, sends: 1, recvs: 1, opsExact: true });
    t.like(h?.lastWake, { waker: Number(waker), woken: Number(woken) });
    t.like(h?.lastSend, { goid: Number(waker) });
    t.like(h?.lastRecv, { goid: Number(woken) });
    t.like(h?.made, { function: 'main.handoff', line: makeLine('handoff'), goid: target.goid });

    target.send(`ops ${K}`);
    const [, oAddr, sender, receiver, closer] = await target.line(/^ops addr=(0x[0-9a-f]+) k=\d+ sender=(\d+) receiver=(\d+) closer=(\d+)$/);
    const o = w.channel(Number(oAddr));
    t.log(JSON.stringify(o));
    t.like(o, { sends: K, recvs: K, opsExact: true, parks: 0, wakes: 0 });
    t.like(o?.lastSend, { goid: Number(sender) });
    t.like(o?.lastRecv, { goid: Number(receiver) });
    t.like(o?.closed, { goid: Number(closer) });
    t.like(o?.made, { function: 'main.ops', line: makeLine('ops'), goid: target.goid });
    t.true(o!.made!.atNs <= o!.lastSend!.atNs && o!.lastSend!.atNs <= o!.lastRecv!.atNs && o!.lastRecv!.atNs <= o!.closed!.atNs, 'in program order');
    t.is(w.channel(0x10), undefined, 'nothing for an address no channel had');
    w.check();
  });
}

for (const tc of CASES.filter((x) => x.minor === 19 || x.minor === 26)) {
  test.serial(`go1.${tc.minor}: parkStack gives the park-time stack, frame for frame as the snapshot shows the wait`, async (t) => {
    requireBpf();
    const target = await start(t, tc);
    const session = Session.open(target.pid);
    const w = new LiveWatcher(session, { mode: 'light', budgetPct: 100, parkStacks: true });
    t.teardown(() => w.close());
    target.send(`stuck ${SENDERS}`);
    await target.line(/^stuck addr=/);
    const senders = session.snapshot().goroutines.filter((g) => g.waitReason === 'chan send');
    t.is(senders.length, SENDERS);
    for (const g of senders) {
      const park = w.parkStack(g.id);
      t.truthy(park, `goroutine ${g.id}`);
      // The runtime's frames (gopark, chansend) are hidden in both, so the
      // shown frames are the same return addresses: equal frame for frame.
      t.deepEqual(park, g.frames, `goroutine ${g.id}`);
    }
    t.deepEqual(senders[0]!.frames.slice(0, 2).map((f) => [f.function, f.inlined]), [['main.put', true], ['main.produce', false]]);
    // The batched read of the state map (the worker's, per refresh) answers as one lookup per goroutine does.
    const batch = w.parks(senders.map((g) => g.id));
    t.is(batch.size, SENDERS);
    for (const g of senders) t.deepEqual(batch.get(g.id), w.park(g.id), `goroutine ${g.id}`);
    t.is(batch.get(senders[0]!.id)!.reason, 'chan send');
    const whole = w.probe!.gstates();
    t.true(whole.size >= SENDERS);
    // 3 entries per batch: many batches, the same entries (the parked senders do not change meanwhile).
    const small = w.probe!.gstates(3);
    t.true(small.size >= SENDERS);
    for (const g of senders) t.deepEqual(small.get(g.id), whole.get(g.id), `goroutine ${g.id} in small batches`);
    t.log(JSON.stringify(w.parkStack(senders[0]!.id)));
    const running = session.snapshot().goroutines.find((g) => g.status !== 'waiting');
    if (running) t.is(w.parkStack(running.id), undefined, 'no park stack for a goroutine not parked');
  });
}
