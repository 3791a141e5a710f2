// Goroutines that end through runtime.coroexit (iter.Pull's coroutines, Go
// ≥ 1.23) are counted as exits: they never reach runtime.goexit1, so the exit
// probe also goes on the code that runs coroexit (test/go/coro). gtop runs
// as a user would (bin/gtop --once --json --duration) and its created/exited
// must equal what the program did, exactly, with exitedExact still claimed.
// Needs root (CAP_BPF + CAP_PERFMON): without it these tests fail, loudly.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import { loadBinary } from '../../src/binary/index.ts';
import { openTarget } from '../../src/target/process.ts';
import { buildFixture } from '../helpers/build.ts';
import { spawnGtop } from '../helpers/gtop.ts';
import { lineWaiter } from '../helpers/lines.ts';
import { TOOLCHAINS } from '../helpers/toolchains.ts';

const PULLS = 150;
const STOPS = 50;
const PLAIN = 120;

/** Functions the light mode probes in this program, the coroutine's exit and creation among them. */
const PROBED = ['runtime.gopark', 'runtime.ready', 'runtime.goexit1', 'runtime.corostart.deferwrap1', 'runtime.newproc.func1', 'runtime.newcoro.func1', 'runtime.makechan', 'runtime.closechan'];

function requireBpf(): void {
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
  const caps = BigInt(`0x${capEff}`);
  if (!(((caps >> 21n) & 1n) || (((caps >> 38n) & 1n) && ((caps >> 39n) & 1n)))) {
    throw new Error(`the coroutine tests need root (CAP_BPF and CAP_PERFMON); this process has CapEff=${capEff}`);
  }
}

interface Target { pid: number; send(cmd: string): void; line(re: RegExp): Promise<RegExpExecArray> }

async function startCoro(t: ExecutionContext, bin: string): Promise<Target> {
  const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  const line = lineWaiter(child, 20_000);
  await line(/^ready pid=\d+ pull=true$/);
  return { pid: child.pid!, send: (c) => child.stdin!.write(`${c}\n`), line };
}

/** How many of `funcs` read back from the target differently from the file (an INT3 is in). */
function patched(pid: number, funcs: readonly string[]): number {
  const proc = openTarget(pid);
  const info = loadBinary(proc.exePath);
  const bias = proc.loadBias(info.elf);
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  try {
    return funcs.filter((name) => {
      const fn = info.pclntab.funcByName(name);
      if (!fn) throw new Error(`${name} is not in the target`);
      const want = info.elf.readVaddr(fn.entry, fn.end - fn.entry);
      const got = Buffer.alloc(want.length);
      readSync(fd, got, 0, got.length, bias + fn.entry);
      return !got.equals(want);
    }).length;
  } finally {
    closeSync(fd);
  }
}

async function waitForUprobes(pid: number): Promise<void> {
  const end = Date.now() + 30_000;
  while (Date.now() < end) {
    if (patched(pid, PROBED) === PROBED.length) {
      await new Promise((r) => setTimeout(r, 500)); // the start snapshot follows the attach
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('gtop did not attach its probes within 30 s');
}

interface LiveJSON {
  created: number; exited: number; createdExact: boolean; exitedExact: boolean;
  probes: { attached: string[] };
  drops: number;
}

for (const tc of TOOLCHAINS.filter((x) => [23, 25, 26].includes(x.minor))) {
  test.serial(`go1.${tc.minor}: iter.Pull coroutines that end are counted as exits, exactly`, async (t) => {
    requireBpf();
    const variant = { stripped: tc.minor === 26, pie: tc.minor === 26 };
    const target = await startCoro(t, await buildFixture('coro', tc, variant));
    const run = spawnGtop(['-p', String(target.pid), '--once', '--json', '--duration', '4s'], { timeoutMs: 60_000 });
    await waitForUprobes(target.pid);
    target.send(`pull ${PULLS}`);
    await target.line(new RegExp(`^pull n=${PULLS}$`));
    target.send(`stop ${STOPS}`);
    await target.line(new RegExp(`^stop n=${STOPS}$`));
    target.send(`plain ${PLAIN}`);
    await target.line(new RegExp(`^plain n=${PLAIN}$`));
    const res = await run.result;
    t.is(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as LiveJSON;
    t.log(JSON.stringify({ created: out.created, exited: out.exited, createdExact: out.createdExact, exitedExact: out.exitedExact, drops: out.drops }));

    // Each pull or stop: one coroutine goroutine (newcoro) that ends in coroexit; each plain one ends in goexit1.
    const n = PULLS + STOPS + PLAIN;
    t.is(out.created, n);
    t.is(out.exited, n);
    t.true(out.exitedExact && out.createdExact);
    t.is(out.drops, 0);
    t.true(out.probes.attached.includes('exit') && out.probes.attached.includes('create'));
    t.is(patched(target.pid, PROBED), 0, 'every probe site, the coroutine exit among them, reads back unpatched');
  });
}
