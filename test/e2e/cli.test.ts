// Every bad input a user can give gtop gets one line that says what happened
// and what to do, with the documented exit code — never a stack trace.
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { GtopError } from '../../src/errors.ts';
import { Session } from '../../src/session.ts';
import { readStat } from '../../src/target/process.ts';
import { REPO_ROOT, buildFixture } from '../helpers/build.ts';
import { GTOP_BIN, type GtopResult, runGtop, spawnGtop } from '../helpers/gtop.ts';
import { startFixture } from '../helpers/process.ts';
import { toolchainByMinor } from '../helpers/toolchains.ts';

function oneLineError(t: ExecutionContext, res: GtopResult, code: number, pattern: RegExp): void {
  t.is(res.code, code, `stdout: ${res.stdout}\nstderr: ${res.stderr}`);
  t.is(res.stdout, '');
  const lines = res.stderr.trimEnd().split('\n');
  t.is(lines.length, 1, `expected one line, got:\n${res.stderr}`);
  t.regex(lines[0]!, pattern);
  t.notRegex(res.stderr, /internal error|\n\s+at /);
}

function spawnKilled(t: ExecutionContext, cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  return child;
}

async function waitFor(what: string, cond: () => boolean, ms = 5000, pollMs = 20): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

test('usage errors exit 2 and point at --help', async (t) => {
  oneLineError(t, await runGtop([]), 2, /^gtop: which process\? give -p PID \(see gtop --help\)$/);
  oneLineError(t, await runGtop(['-p', 'abc']), 2, /^gtop: -p needs a process ID, got "abc"$/);
  oneLineError(t, await runGtop(['-p']), 2, /^gtop: -p needs a value/);
  oneLineError(t, await runGtop(['-p', '1', '--frobnicate']), 2, /^gtop: unknown argument "--frobnicate"/);
  oneLineError(t, await runGtop(['-p', '1', '--json']), 2, /^gtop: --json needs --once$/);
  const help = await runGtop(['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /^usage: gtop -p PID/);
});

test('no such process', async (t) => {
  // A PID that was just in use and is now free.
  const child = spawn('true');
  await new Promise((r) => child.once('exit', r));
  const res = await runGtop(['-p', String(child.pid), '--once']);
  oneLineError(t, res, 1, new RegExp(`^gtop: no process with PID ${child.pid}`));
});

test('a process that is not a Go program', async (t) => {
  const child = spawnKilled(t, 'sleep', ['30']);
  await waitFor('sleep to exec', () => readStat(child.pid!)?.comm === 'sleep');
  const res = await runGtop(['-p', String(child.pid), '--once']);
  oneLineError(t, res, 1, new RegExp(`^gtop: process ${child.pid} \\(/usr/bin/sleep\\) is not a Go program`));
});

test('a kernel thread', async (t) => {
  oneLineError(t, await runGtop(['-p', '2', '--once']), 1, /^gtop: PID 2 \(kthreadd\) is a kernel thread, not a Go program$/);
});

test('a zombie', async (t) => {
  const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => {
    parent.kill('SIGKILL');
  });
  const zombie = await new Promise<number>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  await waitFor(`PID ${zombie} to become a zombie`, () => readStat(zombie)?.state === 'Z');
  oneLineError(t, await runGtop(['-p', String(zombie), '--once']), 1, new RegExp(`^gtop: process ${zombie} \\(sleep\\) is a zombie`));
});

test('not root: says to run as root', async (t) => {
  const fx = await startFixture(await buildFixture('parking', toolchainByMinor(26), { stripped: false, pie: false }), [], { t });
  const res = await new Promise<GtopResult>((resolve) => {
    const child = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', 'HOME=/tmp', 'GTOP_FROM_SOURCE=1', 'NO_COLOR=1', process.execPath, GTOP_BIN, '-p', String(fx.pid), '--once'], {
      cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  oneLineError(t, res, 1, /run gtop as root/);
});

test('an unsupported Go version is named', async (t) => {
  // A real Go 1.26 program whose build info claims go1.18.8: the version check
  // must refuse it before touching any layout.
  const src = await buildFixture('parking', toolchainByMinor(26), { stripped: true, pie: false });
  const dir = join(REPO_ROOT, '.cache', 'cli-test');
  mkdirSync(dir, { recursive: true });
  const patched = join(dir, `old-version-${process.pid}`);
  copyFileSync(src, patched);
  const data = readFileSync(patched);
  const at = data.indexOf(Buffer.from('\x08go1.26.', 'latin1'));
  t.true(at > 0, 'version string found in build info');
  data.write('go1.18.8', at + 1, 'latin1');
  writeFileSync(patched, data, { mode: 0o755 });
  const fx = await startFixture(patched, [], { t });
  const res = await runGtop(['-p', String(fx.pid), '--once']);
  oneLineError(t, res, 1, new RegExp(`^gtop: process ${fx.pid} \\(.*old-version-\\d+\\) was built with go1\\.18\\.8; gtop supports Go 1\\.19 to 1\\.26$`));
});

test('a process that exits mid-session is reported, not a crash', async (t) => {
  const fx = await startFixture(await buildFixture('parking', toolchainByMinor(26), { stripped: false, pie: false }), [], { t });
  const session = Session.open(fx.pid);
  t.teardown(() => session.close());
  t.true(session.snapshot().goroutines.length > 10);
  await fx.stop();
  const err = t.throws(() => session.snapshot(), { instanceOf: GtopError });
  t.is(err?.kind, 'process-gone');
  t.is(err?.message, `process ${fx.pid} exited while gtop was reading it`);
});

test('a process killed while gtop --once reads it: a clean result or one line, never a crash', async (t) => {
  const bin = await buildFixture('parking', toolchainByMinor(26), { stripped: false, pie: false });
  const outcomes = new Map<string, number>();
  for (let i = 0; i < 3; i++) {
    const fx = await startFixture(bin, ['-park', '50000'], { t });
    const { child, result } = spawnGtop(['-p', String(fx.pid), '--once', '--json']);
    // Kill the target once gtop holds its memory open, i.e. while it reads.
    const memPath = `/proc/${fx.pid}/mem`;
    await waitFor('gtop to open the target memory', () => {
      try {
        return readdirSync(`/proc/${child.pid}/fd`).some((fd) => readlinkSafe(`/proc/${child.pid}/fd/${fd}`) === memPath);
      } catch {
        return true; // gtop already finished
      }
    }, 30_000, 1);
    if (i > 0) await new Promise((r) => setTimeout(r, i * 30));
    process.kill(fx.pid, 'SIGKILL');
    const res = await result;
    await fx.stop();
    let outcome: string;
    if (res.code === 0) {
      t.true(Array.isArray((JSON.parse(res.stdout) as { goroutines: unknown[] }).goroutines));
      outcome = 'finished before the kill';
    } else {
      oneLineError(t, res, 1, new RegExp(`^gtop: process ${fx.pid} (exited while gtop was reading it|has exited)$`));
      outcome = res.stderr.trim().replace(/\d+/g, 'N');
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  t.log([...outcomes].map(([k, v]) => `${v}× ${k}`).join('\n'));
  // Killed the moment gtop opened its memory, a 50k-goroutine read cannot have finished.
  t.true((outcomes.get('gtop: process N exited while gtop was reading it') ?? 0) > 0, 'the mid-read path was exercised');
});

function readlinkSafe(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}
