// The parking fixture, built with every selected toolchain as plain/stripped
// exe/PIE, parks what the gtop comparison tests rely on: each kind with the
// wait reason its Go version prints, an inlined frame, parent ids from 1.21,
// and all of it unchanged between two dumps.
import test from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { buildFixture, VARIANTS, variantName } from '../helpers/build.ts';
import { parseDump, stableGoroutines, type OracleGoroutine } from '../helpers/oracle.ts';
import { PARKING_KINDS, SPINNERS, goroutinesOf } from '../helpers/parking.ts';
import { startFixture } from '../helpers/process.ts';
import { selectedToolchains } from '../helpers/toolchains.ts';

const PARKED = PARKING_KINDS.reduce((n, k) => n + k.count, 0);

function one(gs: OracleGoroutine[], func: string): OracleGoroutine {
  const found = goroutinesOf(gs, func);
  if (found.length !== 1) throw new Error(`expected one goroutine in ${func}, found ${found.length}`);
  return found[0]!;
}

// Serial: each fixture keeps two cores busy with its spinners while it runs.
for (const tc of selectedToolchains()) {
  for (const variant of VARIANTS) {
    test.serial(`parking fixture: go1.${tc.minor} ${variantName(variant)}`, async (t) => {
      const bin = await buildFixture('parking', tc, variant);
      const fx = await startFixture(bin, [], { t });
      const first = parseDump(await fx.dump());
      const second = parseDump(await fx.dump());
      const stable = stableGoroutines(first, second);

      for (const kind of PARKING_KINDS) {
        const gs = goroutinesOf(stable, kind.func);
        t.is(gs.length, kind.count, `${kind.func}: stable goroutines`);
        t.deepEqual([...new Set(gs.map((g) => g.status))], [kind.status(tc.minor)], `${kind.func}: wait reason`);
      }
      const parked = stable.filter((g) => PARKING_KINDS.some((k) => goroutinesOf([g], k.func).length > 0));
      t.is(parked.length, PARKED);
      for (const s of SPINNERS) {
        const gs = goroutinesOf(second.goroutines, s.func);
        t.is(gs.length, s.count, s.func);
        for (const g of gs) t.true(['runnable', 'running'].includes(g.status), `${s.func} is ${g.status}`);
      }

      const inl = one(stable, 'main.recvInline');
      t.like(inl.frames[0], { function: 'main.recvInline', inlined: true, offset: null });
      t.is(inl.frames[1]?.function, 'main.chainC');
      t.regex(inl.frames[0]!.file, /\/test\/go\/parking\/parkers\.go$/);

      const child = one(stable, 'main.spawnedChild');
      const spawner = one(stable, 'main.spawner');
      t.is(child.createdBy?.function, 'main.spawner');
      t.is(child.parentId, tc.minor >= 21 ? spawner.id : null);
      t.is(spawner.parentId, tc.minor >= 21 ? 1 : null);
      t.true(one(stable, 'main.lockedToThread').lockedToThread);
      t.is(one(stable, 'main.deepRecurse').elided, tc.minor >= 21);
      t.true(goroutinesOf(stable, 'main.mutexLock').every((g) => g.frames.some((f) => f.function === 'sync.(*Mutex).Lock')));

      // Nothing but the dumping goroutine and the spinners may move.
      const changed = first.goroutines.length - stable.length;
      t.true(changed <= 2 + SPINNERS.reduce((n, s) => n + s.count, 0), `${changed} goroutines changed between dumps`);
      t.log(`pid ${fx.pid}: ${first.goroutines.length} goroutines, ${stable.length} stable`);
    });
  }
}

test.serial('parking fixture: -park adds parked goroutines, -churn keeps creating them', async (t) => {
  const [tc] = selectedToolchains().slice(-1);
  const bin = await buildFixture('parking', tc!, VARIANTS[0]!);
  const fx = await startFixture(bin, ['-park', '500', '-churn', '2000', '-spin=false'], { t });
  const a = parseDump(await fx.dump());
  t.is(goroutinesOf(a.goroutines, 'main.parkExtra').length, 500);
  t.is(goroutinesOf(a.goroutines, 'main.spinTight').length, 0);
  const maxId = (d: typeof a) => Math.max(...d.goroutines.map((g) => g.id));
  await new Promise((r) => setTimeout(r, 300));
  const b = parseDump(await fx.dump());
  t.true(goroutinesOf(b.goroutines, 'main.churnOne').length > 0, 'short-lived goroutines are alive at any time');
  t.true(maxId(b) > maxId(a) + 100, `goroutine ids grow with churn: ${maxId(a)} → ${maxId(b)}`);
});

test.serial('busy fixture reports its ping-pong rate', async (t) => {
  const [tc] = selectedToolchains().slice(-1);
  const bin = await buildFixture('busy', tc!, VARIANTS[0]!);
  const fx = await startFixture(bin, ['-interval', '200ms'], { t });
  const rateLines = () => fx.lines().map((l) => /^OPS (\d+)\/s$/.exec(l)).filter((m) => m !== null);
  for (const deadline = Date.now() + 10_000; rateLines().length < 2 && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const rates = rateLines().map((m) => Number(m[1]));
  t.true(rates.length >= 2, `OPS lines: ${fx.lines().join(' | ')}`);
  t.true(rates.every((r) => r > 1000), `rates ${rates.join(', ')}`);
  const gs = parseDump(await fx.dump()).goroutines;
  t.is(goroutinesOf(gs, 'main.ping').length, 1);
  t.is(goroutinesOf(gs, 'main.pong').length, 1);
});

test.serial('a fixture dies with the process that started it', async (t) => {
  const [tc] = selectedToolchains().slice(-1);
  const bin = await buildFixture('parking', tc!, VARIANTS[0]!);
  // A throwaway node parent starts the fixture, prints its pid and is then SIGKILLed.
  const script = `import { startFixture } from ${JSON.stringify(new URL('../helpers/process.ts', import.meta.url).href)};
    const fx = await startFixture(${JSON.stringify(bin)}, ['-spin=false']); console.log(fx.pid); setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve, reject) => {
    parent.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    parent.once('exit', (code) => reject(new Error(`parent exited early (${code})`)));
  });
  t.true(pid > 0);
  t.true(isRunning(pid));
  parent.kill('SIGKILL');
  const deadline = Date.now() + 5000;
  while (isRunning(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.false(isRunning(pid), `fixture ${pid} outlived its parent`);
});

/** Exists and is not a zombie (an orphan may wait a while to be reaped). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
