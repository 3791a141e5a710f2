// The eBPF layer against live Go processes (test/go/events) built with every
// supported toolchain: uprobes placed from pclntab (also stripped and PIE),
// events checked against what the program itself reports, and afterwards
// the target's code unpatched and the target still working.
// Needs root (CAP_BPF + CAP_PERFMON): without it these tests fail, loudly.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import test, { type ExecutionContext } from 'ava';
import { type BinaryInfo, loadBinary } from '../../src/binary/index.ts';
import type { BpfEvent, CreateEvent, ExitEvent, MakechanEvent, ParkEvent, ReadyEvent } from '../../src/bpf/events.ts';
import { ProbeSession, type SiteInfo } from '../../src/bpf/session.ts';
import { attachTarget } from '../../src/bpf/target.ts';
import { openTarget } from '../../src/target/process.ts';
import { GO_DIR, type Variant, buildFixture, variantName } from '../helpers/build.ts';
import { selectedToolchains, type Toolchain } from '../helpers/toolchains.ts';

const CHURN = 300;
const SLACK_MS = 30;

/** Fails (never skips) when this process cannot load BPF programs and attach uprobes. */
function requireBpf(): void {
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
  const caps = BigInt(`0x${capEff}`);
  const has = (bit: number) => (caps >> BigInt(bit)) & 1n;
  const CAP_SYS_ADMIN = 21, CAP_PERFMON = 38, CAP_BPF = 39;
  if (!(has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)))) {
    throw new Error(`the eBPF tests need root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN); this process has CapEff=${capEff}`);
  }
}

interface Events {
  pid: number;
  send(cmd: string): void;
  line(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

/** Starts the events program; it exits when its stdin closes or at teardown. */
async function startEvents(t: ExecutionContext, bin: string): Promise<Events> {
  const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  const seen: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (l) => {
    seen.push(l);
    for (const w of waiters) w();
  });
  const line = (re: RegExp, timeoutMs = 20_000) => new Promise<RegExpExecArray>((resolve, reject) => {
    const check = () => {
      for (const l of seen) {
        const m = re.exec(l);
        if (m) { cleanup(); resolve(m); return; }
      }
      if (child.exitCode !== null) { cleanup(); reject(new Error(`events exited (${child.exitCode}) before printing ${re}`)); }
    };
    const timer = setTimeout(() => { cleanup(); reject(new Error(`timed out waiting for ${re}; got ${JSON.stringify(seen.slice(-5))}`)); }, timeoutMs);
    const cleanup = () => { clearTimeout(timer); waiters.delete(check); };
    waiters.add(check);
    check();
  });
  await line(/^ready pid=\d+/);
  return { pid: child.pid!, send: (cmd) => child.stdin!.write(`${cmd}\n`), line };
}

function readMem(pid: number, addr: number, len: number): Buffer {
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  try {
    const b = Buffer.alloc(len);
    if (readSync(fd, b, 0, len, addr) !== len) throw new Error(`short read of ${len} bytes at 0x${addr.toString(16)}`);
    return b;
  } finally {
    closeSync(fd);
  }
}

/** Line of the `make(chan int)` in makeChan, from the source itself. */
function makechanLine(): number {
  const src = readFileSync(path.join(GO_DIR, 'events', 'main.go'), 'utf8').split('\n');
  return src.findIndex((l) => l.includes('return make(chan int)')) + 1;
}

function funcName(bin: BinaryInfo, pc: number): string {
  return bin.pclntab.funcForPC(pc)?.name ?? `?0x${pc.toString(16)}`;
}

const byKind = <K extends BpfEvent['kind']>(evs: BpfEvent[], kind: K) => evs.filter((e): e is Extract<BpfEvent, { kind: K }> => e.kind === kind);

const CASES: [Toolchain, Variant][] = selectedToolchains().flatMap((tc): [Toolchain, Variant][] => {
  const out: [Toolchain, Variant][] = [[tc, { stripped: false, pie: false }]];
  if (tc.minor === 19 || tc.minor === 26) out.push([tc, { stripped: true, pie: true }]);
  return out;
});

for (const [tc, variant] of CASES) {
  test.serial(`go1.${tc.minor} ${variantName(variant)}: park, ready, create, exit and makechan events`, async (t) => {
    requireBpf();
    const bin = await buildFixture('events', tc, variant);
    const ev = await startEvents(t, bin);
    const proc = openTarget(ev.pid);
    const info = loadBinary(proc.exePath);
    const bias = proc.loadBias(info.elf);
    const session = ProbeSession.open();
    t.teardown(() => session.close());
    const sites = session.attach(attachTarget(proc, info));
    for (const s of sites) t.log(`${s.probe.padEnd(8)} ${s.func}+0x${s.offset.toString(16)} [${s.bytes}] ${s.reason}`);
    // INT3, or CALL where Linux ≥ 6.18 turned a probed 5-byte NOP into a trampoline call.
    for (const s of sites) t.true([0xcc, 0xe8].includes(readMem(ev.pid, bias + s.vaddr, 1)[0]!), `probe installed at ${s.func}+0x${s.offset.toString(16)}`);

    // A channel receive parked for 500 ms, woken by a known sender.
    ev.send('chan');
    const [, addrHex, recvStr, sendStr] = await ev.line(/^chan addr=(0x[0-9a-f]+) recv=(\d+) send=(\d+)/);
    const [, ownBlockedNs] = await ev.line(/^chan done blocked=(\d+)/);
    const chan = Number(addrHex), recv = Number(recvStr), sender = Number(sendStr);
    const evs1 = session.poll(1_000_000);

    const made = byKind(evs1, 'makechan').filter((e: MakechanEvent) => e.chan === chan);
    t.is(made.length, 1, 'one makechan event returned this channel');
    const caller = made[0]!.callerPc - bias;
    t.is(funcName(info, caller), 'main.makeChan');
    const fn = info.pclntab.funcForPC(caller - 1)!;
    t.is(info.pclntab.fileLine(fn, caller - 1)?.line, makechanLine(), 'caller pc is the make(chan int) line');

    const parks = byKind(evs1, 'park').filter((e: ParkEvent) => e.goid === recv && e.lock - info.layout.hchan.lock === chan);
    t.is(parks.length, 1, 'the receiver parked once on the channel');
    const park = parks[0]!;
    t.is(info.waitReasons[park.reason], 'chan receive');
    t.is(park.lock - info.layout.hchan.lock, made[0]!.chan, "the park's channel is the one makechan returned");
    const stack = session.stack(park.stackId).map((pc, i) => funcName(info, (i === 0 ? pc : pc - 1) - bias));
    t.is(stack[0], 'runtime.gopark');
    t.true(stack.includes('runtime.chanrecv'), stack.join(' < '));
    t.true(stack.some((f) => f.startsWith('main.chanScenario')), stack.join(' < '));

    const ready = byKind(evs1, 'ready').find((e: ReadyEvent) => e.goid === recv && e.ts > park.ts);
    t.truthy(ready, 'the receiver was made runnable');
    t.is(ready!.waker, sender, 'the waker is the sending goroutine');
    const parkedMs = (ready!.ts - park.ts) / 1e6;
    // Against the program's own measure (receive start → send), not a constant.
    const ownMs = Number(ownBlockedNs) / 1e6;
    t.true(Math.abs(parkedMs - ownMs) <= SLACK_MS, `parked ${parkedMs.toFixed(1)} ms; the program measured ${ownMs.toFixed(1)} ms`);
    t.is(ready!.parkedNs, ready!.ts - park.ts, 'BPF-side blocked time agrees');

    // A burst of goroutines that exit at once.
    ev.send(`churn ${CHURN}`);
    const [, parentStr] = await ev.line(new RegExp(`^churn parent=(\\d+) n=${CHURN}$`));
    const parent = Number(parentStr);
    // wg.Done runs before goexit1: the last workers may still be exiting when the line is printed.
    const churned = (evs: BpfEvent[]) => new Set(byKind(evs, 'create').filter((e: CreateEvent) => e.parent === parent).map((e) => e.goid));
    const evs2 = await pollUntil(session, (evs) => {
      const ids = churned(evs);
      return byKind(evs, 'exit').filter((e) => ids.has(e.goid)).length >= CHURN;
    });
    const creates = byKind(evs2, 'create').filter((e: CreateEvent) => e.parent === parent);
    t.is(creates.length, CHURN, 'one create event per goroutine');
    const ids = new Set(creates.map((e) => e.goid));
    t.is(ids.size, CHURN, 'distinct goids');
    for (const c of creates.slice(0, 3)) {
      t.true(funcName(info, c.startpc - bias).startsWith('main.churn'), funcName(info, c.startpc - bias));
      t.is(funcName(info, c.gopc - 1 - bias), 'main.churn');
    }
    const exits = byKind(evs2, 'exit').filter((e: ExitEvent) => ids.has(e.goid));
    t.is(exits.length, CHURN, 'one exit event per goroutine');
    t.true(exits.every((e) => e.lifetimeNs > 0), 'lifetimes measured from create');

    const c = session.counters();
    t.is(c.drops, 0);
    t.is(c.badRecords, 0);
    t.is(c.readErrors, 0);
    t.true(c.events.create >= CHURN && c.events.exit >= CHURN);
    t.is(c.siteHits.length, sites.length);
    const h = session.histograms();
    t.true(h.lifetime.reduce((a, b) => a + b, 0) >= CHURN);
    // 500 ms is in the [2^28, 2^29) ns bucket.
    t.true((h.blocked.get(park.reason)?.[28] ?? 0) >= 1, 'blocked-time histogram has the 500 ms receive');

    session.close();
    assertUnpatched(t, ev.pid, bias, info, sites);
    ev.send('churn 10');
    await ev.line(/^churn parent=\d+ n=10$/);
    t.is(readFileSync(`/proc/${ev.pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z', true, 'target alive');
    ev.send('quit');
  });
}

/** Polls until `done(all events so far)` or 5 s, returning everything polled. */
async function pollUntil(session: ProbeSession, done: (evs: BpfEvent[]) => boolean): Promise<BpfEvent[]> {
  const all: BpfEvent[] = [];
  const deadline = Date.now() + 5000;
  for (;;) {
    all.push(...session.poll(1_000_000));
    if (done(all) || Date.now() > deadline) return all;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function assertUnpatched(t: ExecutionContext, pid: number, bias: number, info: BinaryInfo, sites: readonly SiteInfo[]): void {
  for (const s of sites) {
    const want = Buffer.from(s.bytes, 'hex');
    t.deepEqual(readMem(pid, bias + s.vaddr, want.length), want, `${s.func}+0x${s.offset.toString(16)} restored`);
    t.deepEqual(info.elf.readVaddr(s.vaddr, want.length), want);
  }
}

test.serial('closing twice and attaching a closed session are safe', async (t) => {
  requireBpf();
  const tc = selectedToolchains().at(-1)!;
  const bin = await buildFixture('events', tc, { stripped: false, pie: false });
  const ev = await startEvents(t, bin);
  const proc = openTarget(ev.pid);
  const info = loadBinary(proc.exePath);
  const s = ProbeSession.open({ ringBytes: 1 << 16, probes: ['park', 'ready'], emit: ['park'] });
  const sites = s.attach(attachTarget(proc, info));
  t.deepEqual([...new Set(sites.map((x) => x.probe))], ['park', 'ready']);
  const evs: BpfEvent[] = [];
  s.subscribe((batch) => evs.push(...batch), { intervalMs: 10 });
  ev.send('chan');
  await ev.line(/^chan done/);
  await new Promise((r) => setTimeout(r, 100));
  t.true(evs.length > 0 && evs.every((e) => e.kind === 'park'), 'only park events are emitted');
  t.true(s.counters().events.ready > 0, 'ready is still counted');
  s.close();
  s.close();
  t.deepEqual(s.poll(), []);
  t.throws(() => s.attach(attachTarget(proc, info)), { message: /closed session/ });
  assertUnpatched(t, ev.pid, proc.loadBias(info.elf), info, sites);
});

test.serial('a failing attach names the step and leaves nothing attached', async (t) => {
  requireBpf();
  const tc = selectedToolchains().at(-1)!;
  const bin = await buildFixture('events', tc, { stripped: false, pie: false });
  const ev = await startEvents(t, bin);
  const proc = openTarget(ev.pid);
  const info = loadBinary(proc.exePath);
  const s = ProbeSession.open();
  // A pid that cannot exist (above PID_MAX_LIMIT): perf_event_open fails with ESRCH.
  const err = t.throws(() => s.attach({ ...attachTarget(proc, info), pid: (1 << 22) + 1 }));
  t.regex(err!.message, /^failed to attach uprobe runtime\.gopark\+0x[0-9a-f]+: ESRCH/);
  t.deepEqual(s.poll(), [], 'the session closed itself');
  s.close();
  // Nothing was left patched by the half-done attach.
  const fn = info.pclntab.funcByName('runtime.gopark')!;
  const code = info.elf.readVaddr(fn.entry, fn.end - fn.entry);
  t.deepEqual(readMem(ev.pid, proc.loadBias(info.elf) + fn.entry, code.length), code);
});

test.serial('SIGKILL of the tracer releases every probe (links are only fds, never pinned)', async (t) => {
  requireBpf();
  const tc = selectedToolchains().at(-1)!;
  const bin = await buildFixture('events', tc, { stripped: false, pie: false });
  const ev = await startEvents(t, bin);
  // Imports resolve against the cwd: this test's folder.
  const code = `
    import { loadBinary } from '../../src/binary/index.ts';
    import { ProbeSession } from '../../src/bpf/session.ts';
    import { attachTarget } from '../../src/bpf/target.ts';
    import { openTarget } from '../../src/target/process.ts';
    const proc = openTarget(${ev.pid});
    const s = ProbeSession.open();
    const sites = s.attach(attachTarget(proc, loadBinary(proc.exePath)));
    console.log(JSON.stringify(sites.map((x) => [x.vaddr, x.bytes])));
    setInterval(() => s.poll(), 50);
  `;
  const tracer = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', code], { cwd: path.dirname(fileURLToPath(import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => { tracer.kill('SIGKILL'); });
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: tracer.stdout! }).once('line', resolve);
    tracer.once('exit', (c) => reject(new Error(`tracer exited with ${c}`)));
  });
  const sites = JSON.parse(first) as [number, string][];
  const proc = openTarget(ev.pid);
  const bias = proc.loadBias(loadBinary(proc.exePath).elf);
  t.true(sites.every(([vaddr]) => readMem(ev.pid, bias + vaddr, 1)[0] === 0xcc), 'probes installed');
  const exited = new Promise((r) => tracer.once('exit', r));
  tracer.kill('SIGKILL');
  await exited;
  for (const [vaddr, bytes] of sites) t.is(readMem(ev.pid, bias + vaddr, bytes.length / 2).toString('hex'), bytes);
  ev.send('churn 10');
  await ev.line(/^churn parent=\d+ n=10$/);
});
