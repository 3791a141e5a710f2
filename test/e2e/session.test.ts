// What a Session holds on its target beyond memory: the executable, read
// through a descriptor on demand (src/binary/source.ts). It must be given back
// on close, also when the binary was deleted meanwhile (an upgrade), so that
// gtop never keeps a deleted executable's space busy past its session.
import { copyFileSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { Session } from '../../src/session.ts';
import { buildFixture } from '../helpers/build.ts';
import { holders, startFixture } from '../helpers/process.ts';
import { selectedToolchains } from '../helpers/toolchains.ts';

const tcs = selectedToolchains();
for (const tc of new Set([tcs[0]!, tcs.at(-1)!])) {
  test.serial(`go1.${tc.minor}: Session.close gives back the executable, deleted meanwhile or not`, async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gtop-session-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const exe = path.join(dir, 'parking');
    copyFileSync(await buildFixture('parking', tc, { stripped: true, pie: true }), exe);

    // Kept: closed with the session.
    const fx = await startFixture(exe, [], { t });
    const kept = Session.open(fx.pid);
    t.deepEqual(holders(exe), [process.pid], 'the session reads the executable through one descriptor');
    t.true(kept.snapshot().goroutines.length > 0);
    kept.close();
    t.deepEqual(holders(exe), []);
    t.deepEqual(holders(`/proc/${fx.pid}/mem`), []);

    // Deleted while watched: still readable, released on close.
    const session = Session.open(fx.pid);
    unlinkSync(exe);
    t.deepEqual(holders(`${exe} (deleted)`), [process.pid]);
    const snap = session.snapshot();
    t.true(snap.goroutines.some((g) => g.frames.some((f) => f.function.startsWith('main.'))), 'symbolized after the delete');
    session.close();
    session.close();
    t.deepEqual(holders(`${exe} (deleted)`), [], 'no descriptor keeps the deleted executable busy');
    await fx.stop();
  });
}
