import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { dumpChunks, groupByStack, writeDump } from '../../src/model/dump.ts';
import { parseDump } from '../helpers/oracle.ts';
import { g, service, snapshot } from '../ui/goroutines.ts';

const EVERY = '=== every goroutine ===\n\n';

test('groupByStack: identical frames and creation site, largest first', (t) => {
  const snap = snapshot(service());
  const groups = groupByStack(snap.goroutines);
  t.deepEqual(groups.slice(0, 3).map((x) => x.goroutines.length), [12, 6, 3]);
  t.is(groups.reduce((n, x) => n + x.goroutines.length, 0), snap.goroutines.length);
  // Same frames, another creator: two groups.
  const two = groupByStack(snapshot([g({ id: 1 }), g({ id: 2, createdBy: null })]).goroutines);
  t.is(two.length, 2);
});

test('the dump: header, groups with counts and ids, then every goroutine in the runtime\'s format', (t) => {
  const snap = snapshot(service());
  const text = [...dumpChunks(snap, snap.goroutines, true)].join('');
  t.true(text.startsWith('gtop dump of process 4242 (/srv/app), go1.26.8, read at 2026-01-02T03:04:05.000Z\n'));
  t.regex(text, /^25 goroutines \(runtime-internal ones included\), 7 distinct stacks$/m);
  t.regex(text, /^12 goroutines \[chan send\]: 100 101 102 103 104 105 106 107 108 109 110 111\nruntime\.gopark\(\)\n\t\/usr\/lib\/go\/src\/runtime\/proc\.go:435\n/m);
  t.regex(text, /^6 goroutines \[chan receive ×5, runnable ×1\]: 10 11 12 13 14 32$/m);
  t.regex(text, /^sync\.\(\*Mutex\)\.Lock\(\.\.\.\)$/m, 'inlined frames as the runtime prints them');
  t.regex(text, /^1 goroutine \[running\]: 31\n\tgoroutine running on other thread; stack unavailable\ncreated by main\.main\n/m);
  const every = text.slice(text.indexOf(EVERY) + EVERY.length);
  const parsed = parseDump(every);
  t.deepEqual(parsed.goroutines.map((x) => x.id), snap.goroutines.map((x) => x.id));
  t.is(parsed.goroutines.find((x) => x.id === 100)!.waitMinutes, 3);
});

test('big dumps come in chunks, and long id lists are cut', (t) => {
  const many = Array.from({ length: 3000 }, (_, i) => g({ id: i + 1 }));
  const snap = snapshot(many);
  const chunks = [...dumpChunks(snap, snap.goroutines, false)];
  t.true(chunks.length > 3);
  t.true(chunks.every((c) => c.length < 70_000));
  const text = chunks.join('');
  t.regex(text, /^3000 goroutines \[chan receive\]: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 … \(2980 more\)$/m);
  t.regex(text, /runtime-internal ones left out/);
});

test('writeDump: a new file of mode 0600, never an existing one or a symlink', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gtop-dump-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const at = new Date(2026, 0, 2, 3, 4, 5);
  const old = process.umask(0);
  try {
    const first = writeDump(dir, 42, at, ['a', 'b']);
    t.is(first, path.join(dir, 'gtop-42-20260102-030405.txt'));
    t.is(readFileSync(first, 'utf8'), 'ab');
    t.is(statSync(first).mode & 0o777, 0o600);
    const second = writeDump(dir, 42, at, ['c']);
    t.is(second, path.join(dir, 'gtop-42-20260102-030405-1.txt'));
    t.is(readFileSync(first, 'utf8'), 'ab');
    // A planted symlink under the next name is skipped, its target untouched.
    const target = path.join(dir, 'victim');
    writeFileSync(target, 'keep');
    symlinkSync(target, path.join(dir, 'gtop-42-20260102-030405-2.txt'));
    t.is(writeDump(dir, 42, at, ['d']), path.join(dir, 'gtop-42-20260102-030405-3.txt'));
    t.is(readFileSync(target, 'utf8'), 'keep');
  } finally {
    process.umask(old);
  }
  t.throws(() => writeDump(path.join(dir, 'missing'), 1, at, ['x']), { code: 'ENOENT' });
});
