// The oracle parser on real dumps of the parking fixture (captured with
// test/helpers/capture-oracle.ts) and on the header variants the fixture
// cannot produce on demand.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { OracleParseError, parseDump, stableGoroutines, type OracleDump, type OracleGoroutine } from '../helpers/oracle.ts';
import { PARKING_KINDS, SPINNERS, goroutinesOf } from '../helpers/parking.ts';

const DATA = new URL('./data/', import.meta.url);
const DUMPS = [
  { minor: 19, file: 'parking-go1.19.txt' },
  { minor: 21, file: 'parking-go1.21.txt' },
  { minor: 26, file: 'parking-go1.26-labels.txt' },
];

function load(file: string): OracleDump {
  return parseDump(readFileSync(new URL(file, DATA), 'utf8'));
}

function only(gs: OracleGoroutine[], func: string): OracleGoroutine {
  const found = goroutinesOf(gs, func);
  if (found.length !== 1) throw new Error(`expected one goroutine in ${func}, found ${found.length}`);
  return found[0]!;
}

for (const { minor, file } of DUMPS) {
  test(`go1.${minor}: every goroutine of the fixture, with its status`, (t) => {
    const { goroutines: gs } = load(file);
    // 38 parked + 3 spinners + pprof's accept loop + the dumping handler + its background reader.
    t.is(gs.length, 44);
    t.is(new Set(gs.map((g) => g.id)).size, gs.length, 'ids are unique');
    t.is(gs[0]!.status, 'running', 'the dumping goroutine comes first');
    for (const kind of PARKING_KINDS) {
      const mine = goroutinesOf(gs, kind.func);
      t.is(mine.length, kind.count, kind.func);
      for (const g of mine) t.is(g.status, kind.status(minor), `${kind.func} goroutine ${g.id}`);
    }
    for (const s of SPINNERS) t.is(goroutinesOf(gs, s.func).length, s.count, s.func);
    t.true(gs.every((g) => g.frames.length > 0 && !g.stackUnavailable && !g.scan && !g.leaked));
  });

  test(`go1.${minor}: frames, inlining and creators`, (t) => {
    const { goroutines: gs } = load(file);
    const main = gs.find((g) => g.id === 1)!;
    t.deepEqual(main.frames.map((f) => f.function), ['main.main']);
    t.is(main.createdBy, null, 'goroutine 1 has no creator');

    const chain = only(gs, 'main.recvInline');
    t.deepEqual(chain.frames.map((f) => f.function), ['main.recvInline', 'main.chainC', 'main.chainB', 'main.chainA']);
    t.true(chain.frames[0]!.inlined);
    t.is(chain.frames[0]!.offset, null, 'inlined frames print no pc offset');
    t.false(chain.frames[1]!.inlined);
    t.true(chain.frames[1]!.offset! > 0);
    t.regex(chain.frames[0]!.file, /\/test\/go\/parking\/parkers\.go$/);
    t.is(chain.frames[0]!.line, 124);
    t.is(chain.createdBy?.function, 'main.startOthers');
    t.regex(chain.createdBy!.file, /\/test\/go\/parking\/main\.go$/);

    t.is(only(gs, 'main.genericRecv').frames[0]!.function, 'main.genericRecv[...]');
    t.is(only(gs, 'main.(*methodParker).park').createdBy?.function, 'main.startMethodValue');
    t.deepEqual(only(gs, 'main.panicPark.func1').frames.map((f) => f.function), ['main.panicPark.func1', 'panic', 'main.panicPark']);
    t.deepEqual(only(gs, 'main.labelled.func1').frames.map((f) => f.function), ['main.labelled.func1', 'runtime/pprof.Do', 'main.labelled']);

    const mutex = goroutinesOf(gs, 'main.mutexLock')[0]!;
    const top = minor >= 24 ? 'internal/sync.runtime_SemacquireMutex' : 'sync.runtime_SemacquireMutex';
    t.is(mutex.frames[0]!.function, top, 'linknamed runtime frames are shown');

    t.deepEqual(gs.filter((g) => g.lockedToThread).map((g) => g.id), [only(gs, 'main.lockedToThread').id]);
    t.true(gs.every((g) => g.waitMinutes === null && g.synctest === null));
  });

  test(`go1.${minor}: parent ids and elision`, (t) => {
    const { goroutines: gs } = load(file);
    const spawner = only(gs, 'main.spawner');
    const child = only(gs, 'main.spawnedChild');
    t.is(child.createdBy?.function, 'main.spawner');
    const deep = only(gs, 'main.deepRecurse');
    if (minor >= 21) {
      t.is(child.parentId, spawner.id);
      t.is(spawner.parentId, 1);
      t.true(gs.every((g) => (g.createdBy === null) === (g.parentId === null)));
      t.true(deep.elided, '"...N frames elided..." in the middle');
      t.is(deep.frames.length, 100, 'first 50 and last 50');
    } else {
      t.true(gs.every((g) => g.parentId === null));
      // Before 1.21 the marker is printed only when 100 frames were printed;
      // the hidden runtime frames count against the limit, so it is silently cut.
      t.false(deep.elided);
      t.is(deep.frames.length, 97);
    }
  });
}

test('go1.26 with GODEBUG=tracebacklabels=1: labels in the header', (t) => {
  const { goroutines: gs } = load('parking-go1.26-labels.txt');
  const labelled = only(gs, 'main.labelled.func1');
  t.deepEqual(labelled.labels, { gtop: 'labelled' });
  t.is(labelled.status, 'chan receive');
  t.deepEqual(gs.filter((g) => g.labels !== null).map((g) => g.id), [labelled.id]);
});

test('stableGoroutines keeps only unchanged goroutines', (t) => {
  const a = load('parking-go1.21.txt');
  t.is(stableGoroutines(a, load('parking-go1.21.txt')).length, a.goroutines.length);
  const b = load('parking-go1.21.txt');
  const moved = b.goroutines.find((g) => g.status === 'sleep')!;
  moved.frames[0]!.line += 1;
  const waked = b.goroutines.find((g) => g.status === 'sync.Cond.Wait')!;
  waked.status = 'runnable';
  const gone = b.goroutines.pop()!;
  const stable = stableGoroutines(a, b);
  t.is(stable.length, a.goroutines.length - 3);
  for (const id of [moved.id, waked.id, gone.id]) t.false(stable.some((g) => g.id === id));
});

const SYNTHETIC = `goroutine 7 [chan receive (scan), 12 minutes, locked to thread]:
main.f(...)
	/src/main.go:10

goroutine 8 [chan receive (durable), synctest bubble 3]:
main.g()
	/src/main.go:11 +0x1d

goroutine 9 [select (synctest), synctest group 5]:
main.g()
	/src/main.go:11

goroutine 10 [sync.WaitGroup.Wait (leaked)]:
main.g()
	/src/a b/main.go:12 +0x20 fp=0xc000 sp=0xc001 pc=0x401000

goroutine 11 gp=0xc000007c00 m=nil [runnable]:
main.h[...](0x1?, {0x2, 0x3})
	/src/main.go:13 +0x5

goroutine 12 gp=0xc000007e00 m=3 mp=0xc000080008 [running]:
	goroutine running on other thread; stack unavailable
created by main.main in goroutine 1
	/src/main.go:5 +0x1d

goroutine 13 [chan receive, 3 minutes, locked to thread, synctest bubble 2 labels:{"k": "v, ]}", "q\\"": "2"}]:
main.g()
	/src/main.go:11
...additional frames elided...
created by main.main
	/src/main.go:6
`;

test('header and frame variants from go-runtime.md §11', (t) => {
  const gs = parseDump(SYNTHETIC).goroutines;
  t.deepEqual(gs.map((g) => g.id), [7, 8, 9, 10, 11, 12, 13]);
  const [g7, g8, g9, g10, g11, g12, g13] = gs as [OracleGoroutine, ...OracleGoroutine[]];
  t.like(g7, { status: 'chan receive', scan: true, waitMinutes: 12, lockedToThread: true });
  t.like(g7.frames[0], { function: 'main.f', inlined: true, offset: null, line: 10 });
  t.like(g8, { status: 'chan receive (durable)', synctest: 3, scan: false });
  t.like(g9, { status: 'select (synctest)', synctest: 5 });
  t.like(g10, { status: 'sync.WaitGroup.Wait', leaked: true });
  t.like(g10!.frames[0], { file: '/src/a b/main.go', line: 12, offset: 0x20 });
  t.like(g11, { status: 'runnable' });
  t.like(g11!.frames[0], { function: 'main.h[...]', inlined: false, offset: 5 });
  t.like(g12, { status: 'running', stackUnavailable: true, parentId: 1, frames: [] });
  t.deepEqual(g12!.createdBy, { function: 'main.main', file: '/src/main.go', line: 5 });
  t.like(g13, { status: 'chan receive', waitMinutes: 3, lockedToThread: true, synctest: 2, elided: true, parentId: null });
  t.deepEqual(g13!.labels, { k: 'v, ]}', 'q"': '2' });
});

test('malformed dumps are rejected with the line, not misread', (t) => {
  const bad = [
    'goroutine x [running]:\n',
    'goroutine 1 [running]:\nmain.main\n\t/src/main.go:1\n',
    'goroutine 1 [running]:\nmain.main()\n/src/main.go:1\n',
    'goroutine 1 [running]:\nmain.main()\n',
    'goroutine 1 [running, on fire]:\n',
    'goroutine 1 [running labels:{"a"}]:\n',
    'goroutine 1 [running]:\ncreated by main.main\n',
  ];
  for (const text of bad) t.throws(() => parseDump(text), { instanceOf: OracleParseError }, JSON.stringify(text));
  t.deepEqual(parseDump('').goroutines, []);
  t.deepEqual(parseDump('\n\n').goroutines, []);
});
