// --once output: the header and frame lines of the runtime's dump, and the
// JSON schema's rules (waitReason only while waiting).
import test from 'ava';
import { formatGoroutineText, goroutineHeader, toJSON } from '../../src/cli/format.ts';
import type { Goroutine, Snapshot } from '../../src/runtime/goroutine.ts';

function g(over: Partial<Goroutine>): Goroutine {
  return {
    id: 7, status: 'waiting', rawStatus: 4, waitReason: 'chan receive', waitMinutes: null, lockedToThread: false, system: false,
    frames: [], stackError: null, framesElided: false, createdBy: null, parentId: null, labels: {}, startFunction: 'main.worker', gAddr: 0xc000001000,
    ...over,
  };
}

test('header: wait reason, minutes, locked to thread, scan bit', (t) => {
  t.is(goroutineHeader(g({})), 'goroutine 7 [chan receive]:');
  t.is(goroutineHeader(g({ waitMinutes: 3, lockedToThread: true })), 'goroutine 7 [chan receive, 3 minutes, locked to thread]:');
  t.is(goroutineHeader(g({ status: 'runnable', rawStatus: 0x1001, waitReason: null })), 'goroutine 7 [runnable (scan)]:');
  t.is(goroutineHeader(g({ status: 'waiting', waitReason: null })), 'goroutine 7 [waiting]:');
});

test('frames, inlined frames, offsets and the creator as the runtime prints them', (t) => {
  const text = formatGoroutineText(g({
    frames: [
      { function: 'main.recvInline', file: '/src/p.go', line: 10, inlined: true, offset: null },
      { function: 'main.chainC', file: '/src/p.go', line: 20, inlined: false, offset: 0x2e },
    ],
    createdBy: { function: 'main.main', file: '/src/main.go', line: 30, offset: 0x45 },
    parentId: 1,
  }));
  t.is(text, [
    'goroutine 7 [chan receive]:',
    'main.recvInline(...)',
    '\t/src/p.go:10',
    'main.chainC()',
    '\t/src/p.go:20 +0x2e',
    'created by main.main in goroutine 1',
    '\t/src/main.go:30 +0x45',
    '',
  ].join('\n'));
});

test('a running goroutine says its stack is unavailable', (t) => {
  const text = formatGoroutineText(g({ status: 'running', rawStatus: 2, waitReason: null, stackError: 'goroutine running on other thread; stack unavailable' }));
  t.is(text, 'goroutine 7 [running]:\n\tgoroutine running on other thread; stack unavailable\n');
});

test('JSON: waitReason is null unless waiting; system goroutines only on request', (t) => {
  const snap: Snapshot = {
    pid: 1, exe: '/x', goVersion: 'go1.26.8', module: 'm', takenAt: new Date(0), durationMs: 1, reads: 1, unreadable: 0,
    goroutines: [g({ status: 'runnable', waitReason: 'chan receive' }), g({ id: 8, system: true, startFunction: 'runtime.bgsweep' })],
  };
  const out = toJSON(snap, { system: false }) as { goroutines: { id: number; waitReason: string | null }[] };
  t.deepEqual(out.goroutines.map((x) => [x.id, x.waitReason]), [[7, null]]);
  const all = toJSON(snap, { system: true }) as { goroutines: { id: number }[] };
  t.deepEqual(all.goroutines.map((x) => x.id), [7, 8]);
});
