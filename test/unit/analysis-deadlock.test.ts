// The pure half of the deadlock analysis: strongly connected components of
// "could wake" edges over the goroutines proven stuck, the cycle path and its
// evidence; and how a wait is tied to a sync object (reason and frames).
import test from 'ava';
import { components, findDeadlocks } from '../../src/analysis/deadlock.ts';
import { classifyReason, deadlocksToJSON, type GoroutineWait, type Reachability, type WaitGraph, type WaitTarget, targetKey } from '../../src/analysis/index.ts';
import { lockForSema } from '../../src/analysis/sema.ts';
import type { Frame } from '../../src/runtime/goroutine.ts';

const chan = (addr: number, op: 'send' | 'receive' = 'receive'): WaitTarget => ({ kind: 'channel', addr, op });

function graph(waits: Record<number, WaitTarget[]>): WaitGraph {
  const byGoroutine = new Map<number, GoroutineWait>(Object.entries(waits).map(([g, targets]) => [Number(g), {
    goid: Number(g), reason: 'chan-receive', waitReason: 'chan receive', targets, blockedMs: null, error: null,
  }]));
  const addrs = new Set(Object.values(waits).flat().filter((t) => t.kind === 'channel').map((t) => t.addr));
  const channels = [...addrs].map((addr) => ({ addr, elemType: 'int', elemSize: 8, len: 0, cap: 0, closed: false, sendx: 0, recvx: 0, senders: [], receivers: [], truncated: false }));
  return { pid: 1, takenAt: new Date(0), channels, locks: [], byGoroutine, semaSource: 'g.waiting' };
}

function reach(stuck: number[], reaches: Record<number, WaitTarget[]>, inconclusive: string | null = null): Reachability {
  return {
    stuck: new Set(stuck), inconclusive,
    reaches: new Map(Object.entries(reaches).map(([g, ts]) => [Number(g), new Set(ts.map(targetKey))])),
    checked: { roots: 12, stackBytes: 4096, globalBytes: 8192, heapBytes: 65536, heapObjects: 100, passes: 2 },
  };
}

test('components: Tarjan over a graph with two cycles, a self-loop and a tail', (t) => {
  const succ = new Map([[1, [2]], [2, [1, 3]], [3, [4]], [4, [5]], [5, [3]], [6, [6]], [7, [1]]]);
  const comps = components([1, 2, 3, 4, 5, 6, 7], succ).map((c) => c.join()).sort();
  t.deepEqual(comps, ['1,2', '3,4,5', '6', '7']);
  // A long chain does not recurse.
  const n = 100_000;
  const chain = new Map(Array.from({ length: n }, (_, i) => [i, i + 1 < n ? [i + 1] : [0]]));
  t.is(components([...chain.keys()], chain).length, 1);
});

test('a two-goroutine channel deadlock: each waits on the channel only the other reaches', (t) => {
  const A = 0xc000010000, B = 0xc000010070;
  const g = graph({ 7: [chan(A)], 8: [chan(B)] });
  // 7 reaches its own channel and B; 8 reaches A. Self-edges do not make the path.
  const cycles = findDeadlocks(g, reach([7, 8], { 7: [chan(A), chan(B)], 8: [chan(A)] }));
  t.is(cycles.length, 1);
  const c = cycles[0]!;
  t.deepEqual(c.goroutines, [7, 8]);
  t.deepEqual(c.path.map((s) => [s.goid, s.waitsOn.addr]), [[7, A], [8, B]]);
  t.deepEqual(c.path.map((s) => s.wakers), [[7, 8], [7]]);
  t.deepEqual(c.evidence.slice(0, 4), [
    'goroutine 7 is blocked (chan receive) on chan int 0xc000010000 (receive)',
    'goroutine 8 is blocked (chan receive) on chan int 0xc000010070 (receive)',
    'chan int 0xc000010000 (receive): reachable from goroutines 7, 8 of this cycle, and from no goroutine that can still run',
    'chan int 0xc000010070 (receive): reachable from goroutine 7 of this cycle, and from no goroutine that can still run',
  ]);
  t.regex(c.evidence[4]!, /^no other goroutine and no global variable reaches these objects: conservative heap mark from 12 goroutine stacks \(4 KiB\) and 8 KiB of globals, 64 KiB of heap in 100 objects, 2 independent passes agreeing$/);
  t.regex(c.evidence[5]!, /^not checked: /);
  t.deepEqual(deadlocksToJSON(cycles)[0]!.path[0], { goroutine: 7, waitsOn: { kind: 'channel', address: '0xc000010000', op: 'receive' }, wakers: [7, 8] });
});

test('stuck goroutines that wait on each other in a ring of three; a stuck loner is no cycle', (t) => {
  const [A, B, C, D] = [0x1000, 0x2000, 0x3000, 0x4000];
  const g = graph({ 1: [chan(A)], 2: [chan(B)], 3: [chan(C)], 4: [chan(D)] });
  // 1 holds B, 2 holds C, 3 holds A; 4 holds only its own channel.
  const cycles = findDeadlocks(g, reach([1, 2, 3, 4], { 1: [chan(B)], 2: [chan(C)], 3: [chan(A)], 4: [chan(D)] }));
  t.deepEqual(cycles.map((c) => c.goroutines), [[1, 2, 3]]);
  t.deepEqual(cycles[0]!.path.map((s) => s.goid), [1, 2, 3]);
});

test('nothing is flagged without a proof', (t) => {
  const g = graph({ 1: [chan(1 << 20)], 2: [chan(2 << 20)] });
  const r = { 1: [chan(2 << 20)], 2: [chan(1 << 20)] };
  t.deepEqual(findDeadlocks(g, reach([1, 2], r, 'the heap mark exceeded its budget of 10 bytes')), []);
  // Goroutines not proven stuck are not part of any cycle, whatever they reach.
  t.deepEqual(findDeadlocks(g, reach([1], r)), []);
});

const frames = (...fns: string[]): Frame[] => fns.map((f) => ({ function: f, file: 'x.go', line: 1, inlined: false, offset: null }));

test('lockForSema: the object behind a semaphore, by frames where the reason is ambiguous', (t) => {
  const s = 0xc000100000;
  // Go 1.19 says "semacquire" for all of them.
  t.deepEqual(lockForSema(s, 'semacquire', frames('sync.runtime_SemacquireMutex', 'sync.(*Mutex).lockSlow', 'sync.(*Mutex).Lock', 'main.f')), { addr: s - 4, kind: 'mutex', mode: 'lock' });
  t.deepEqual(lockForSema(s, 'semacquire', frames('sync.runtime_SemacquireMutex', 'sync.(*RWMutex).RLock', 'main.f')), { addr: s - 12, kind: 'rwmutex', mode: 'rlock' });
  t.deepEqual(lockForSema(s, 'semacquire', frames('sync.runtime_SemacquireMutex', 'sync.(*RWMutex).Lock', 'main.f')), { addr: s - 8, kind: 'rwmutex', mode: 'lock' });
  t.deepEqual(lockForSema(s, 'semacquire', frames('sync.runtime_Semacquire', 'sync.(*WaitGroup).Wait', 'main.f')), { addr: s - 8, kind: 'waitgroup', mode: 'wait' });
  // A writer queued behind another writer waits on rw.w (offset 0): reason Mutex, object the RWMutex.
  t.deepEqual(lockForSema(s, 'mutex', frames('internal/sync.runtime_SemacquireMutex', 'internal/sync.(*Mutex).lockSlow', 'internal/sync.(*Mutex).Lock', 'sync.(*Mutex).Lock', 'sync.(*RWMutex).Lock', 'main.f')), { addr: s - 4, kind: 'rwmutex', mode: 'lock' });
  // No frames: the reason decides; an unknown semaphore is itself the object.
  t.deepEqual(lockForSema(s, 'rwmutex-rlock', []), { addr: s - 12, kind: 'rwmutex', mode: 'rlock' });
  t.deepEqual(lockForSema(s, 'semacquire', frames('internal/poll.runtime_Semacquire')), { addr: s, kind: 'sema', mode: 'acquire' });
});

test('classifyReason covers the runtime strings of every version', (t) => {
  t.is(classifyReason('chan receive'), 'chan-receive');
  t.is(classifyReason('chan send (durable)'), 'chan-send');
  t.is(classifyReason('select (synctest)'), 'select');
  t.is(classifyReason('select (no cases)'), 'select-no-cases');
  t.is(classifyReason('chan receive (nil chan)'), 'nil-chan-receive');
  t.is(classifyReason('sync.WaitGroup.Wait'), 'waitgroup');
  t.is(classifyReason('sync.RWMutex.RLock'), 'rwmutex-rlock');
  t.is(classifyReason('IO wait'), 'other');
  t.is(classifyReason(null), 'other');
});
