import test from 'ava';
import { cleanup, render } from 'ink-testing-library';
import type { ChannelJSON, DeadlockJSON, LeakSuspectJSON, LockJSON } from '../../src/analysis/json.ts';
import type { ModelView } from '../../src/model/live.ts';
import type { ChannelActivity } from '../../src/model/probe.ts';
import { NO_WAIT_EXTRAS, type WaitExtras, capWaiters } from '../../src/model/waits.ts';
import { App, type AppProps, type ParkStackState } from '../../ui/App.tsx';
import { activityText, waitLines } from '../../ui/ChannelView.tsx';
import { frame } from './goroutines.ts';
import { KEY, press, serviceView } from './render.ts';

// The wait (c) and leak-suspect (l) views over the small service of goroutines.ts.
test.afterEach.always(cleanup);

const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ goroutine: from + i, select: false }));

const CHANNELS: ChannelJSON[] = [
  { address: '0xc000100000', elemType: 'main.job', elemSize: 8, len: 0, cap: 0, closed: false, senders: ids(100, 12), receivers: [], truncated: false },
  { address: '0xc000200000', elemType: 'int', elemSize: 8, len: 0, cap: 4, closed: false, senders: [], receivers: [...ids(10, 4), { goroutine: 14, select: true }], truncated: false },
];

const SUSPECT: LeakSuspectJSON = {
  site: { function: 'main.handler', file: '/src/app/main.go', line: 27 }, function: 'main.handler.func1', blocked: 12, waitReason: 'chan send',
  growth: 12, perSecond: 2.4, windowSeconds: 5, snapshots: 6, oldestSeconds: 180, departed: 0, channels: 1, channel: '0xc000100000', stuck: null, score: 9.5,
  summary: 'main.handler.func1: 12 blocked on chan send, +2.4/s, oldest 3m00s',
  evidence: ['blocked count grew 0 → 12 over 5 s (6 snapshots)', 'none of them left its wait'],
};

function mount(view: ModelView, more: Partial<AppProps> = {}) {
  const props: AppProps = { view, pid: 4242, width: 100, height: 24, color: false, refreshSec: 1, onQuit: () => {}, onDump: () => '', onPause: () => {}, ...more };
  const r = render(<App {...props} />);
  return { ...r, props, lines: (): string[] => r.lastFrame()!.split('\n') };
}

const withWaits = (): ModelView => ({ ...serviceView(), channels: CHANNELS, leakSuspects: [SUSPECT] });

test.serial('c: channels, most waiters first, labelled by element type without probes, with len/cap, senders, receivers and the longest BLOCKED', async (t) => {
  const r = mount(withWaits());
  await press(r, 'c');
  const ls = r.lines();
  t.true(ls.some((l) => /^WAITS {2}2 channels · 0 locks with waiters/.test(l)), r.lastFrame());
  const title = ls.findIndex((l) => l.startsWith('CHANNEL'));
  t.true(title > 0, r.lastFrame());
  t.regex(ls[title]!, /^CHANNEL\s+MADE AT, OR TYPE\s+LEN\/CAP\s+CLOSED\s+SEND\s+RECV\s+LONGEST$/);
  // goroutines 100, 101 have the runtime's 3 minutes; the workers were seen 5 s.
  t.regex(ls[title + 1]!, /^0xc000100000\s+chan main\.job\s+0\/0\s+12\s+0\s+~3m00s/);
  t.regex(ls[title + 2]!, /^0xc000200000\s+chan int\s+0\/4\s+0\s+5\s+~5s/);
  t.true(ls.every((l) => l.length <= 100));
  t.regex(ls.at(-1)!, /^Esc\/c:back/);
});

test.serial('c then Enter lists the waiting goroutines; Enter again folds; c returns to the table', async (t) => {
  const r = mount(withWaits());
  await press(r, 'c', KEY.down, KEY.enter);
  let ls = r.lines();
  const at = ls.findIndex((l) => l.startsWith('0xc000200000'));
  t.regex(ls[at + 1]!, /^\s+chan int$/);
  t.regex(ls[at + 2]!, /^\s+recv\s+goroutine 10\s+chan receive\s+~5s\s+main\.worker main\.go:42/);
  t.regex(ls[at + 6]!, /^\s+recv \(select\)\s+goroutine 14\s/);
  await press(r, KEY.enter);
  ls = r.lines();
  t.false(ls.some((l) => /goroutine 10/.test(l)));
  await press(r, 'c');
  t.true(r.lines().some((l) => /^\s+ID STATE/.test(l)), r.lastFrame());
});

test.serial('l: one summary line per suspect; Enter shows its evidence; Esc returns to the table', async (t) => {
  const r = mount(withWaits());
  await press(r, 'l');
  let ls = r.lines();
  const title = ls.findIndex((l) => l.startsWith('LEAK SUSPECTS'));
  t.true(title > 0, r.lastFrame());
  t.is(ls[title + 1]!.trimEnd(), SUSPECT.summary);
  await press(r, KEY.enter);
  ls = r.lines();
  t.regex(ls[title + 2]!, /^\s+created by main\.handler main\.go:27/);
  t.regex(ls[title + 3]!, /^\s+blocked count grew 0 → 12/);
  t.regex(ls[title + 4]!, /^\s+none of them left its wait/);
  await press(r, KEY.esc);
  t.true(r.lines().some((l) => /^\s+ID STATE/.test(l)), r.lastFrame());
});

test.serial('empty views say so', async (t) => {
  const r = mount(serviceView());
  await press(r, 'c');
  t.true(r.lines().some((l) => l.startsWith('no channel has waiting goroutines')), r.lastFrame());
  await press(r, 'l');
  t.true(r.lines().some((l) => l.startsWith('no leak suspects')), r.lastFrame());
});

test.serial('help lists c, f and l', async (t) => {
  const r = mount(serviceView(), { width: 80, height: 23 });
  await press(r, '?');
  t.true(r.lines().some((l) => /^c\s+waits: deadlocks, channels, locks; Enter: who waits$/.test(l)), r.lastFrame());
  t.true(r.lines().some((l) => /^f\s+in c: the stack of who did a channel's last hand-off$/.test(l)), r.lastFrame());
  t.true(r.lines().some((l) => /^l\s+leak suspects/.test(l)), r.lastFrame());
  t.true(r.lines().some((l) => /^q {2}Ctrl-C\s+quit/.test(l)), 'every key fits at 80×24');
  t.true(r.lines().some((l) => /^Esc\s+clear the filter; close a view, back from f$/.test(l)), r.lastFrame());
});

test.serial('an open channel with many waiters lists the first thousand, then how many more', (t) => {
  const big: ChannelJSON = { ...CHANNELS[0]!, senders: ids(1000, 1500) };
  const lines = waitLines({ ...NO_WAIT_EXTRAS, channels: [big] }, new Map(), big.address, 100);
  // the heading, the channel, its type, 1000 waiters, how many more
  t.is(lines.length, 1 + 1 + 1 + 1000 + 1);
  t.regex(lines[3]!.text, /^\s+send\s+goroutine 1000\s+\(not in this snapshot\)/);
  t.is(lines.at(-1)!.text.trim(), '… and 500 more');
});

test.serial('as the worker sends them (capWaiters): the first thousand waiters listed, all counted, the longest BLOCKED among all', (t) => {
  const modes = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ goroutine: from + i, mode: i % 2 ? 'rlock' as const : 'lock' as const }));
  // Goroutine 20 (in serviceView, blocked ~5s) is the last receiver: beyond the listed thousand.
  const big: ChannelJSON = { ...CHANNELS[0]!, senders: ids(1000, 900), receivers: [...ids(5000, 599), { goroutine: 20, select: false }] };
  const lock: LockJSON = { address: '0xc000500000', kind: 'rwmutex', waiters: [...modes(7000, 1500), { goroutine: 21, mode: 'lock' }] };
  const capped = capWaiters([big], [lock]);
  t.is(capped.channels[0]!.senders.length + capped.channels[0]!.receivers.length, 1000);
  t.is(capped.locks[0]!.waiters.length, 1000);
  t.is(capped.channels[0]!.all!.goroutines.length, 1500);
  const rows = serviceView().rows.table;
  const lines = waitLines({ ...NO_WAIT_EXTRAS, channels: capped.channels, locks: capped.locks }, rows, big.address, 120).map((l) => l.text);
  t.regex(lines[1]!, new RegExp(`^${big.address}\\s+\\S+ \\S+\\s+\\d+/\\d+\\s+900\\s+600\\s+~\\d+s$`), 'all senders and receivers counted, the longest from beyond the list');
  t.is(lines.filter((l) => /^\s+(send|recv)\s+goroutine/.test(l)).length, 1000);
  t.is(lines.find((l) => l.includes('more'))!.trim(), '… and 500 more');
  const lockLine = lines.find((l) => l.startsWith('0xc000500000'))!;
  t.regex(lockLine, /^0xc000500000\s+sync\.RWMutex\s+1,501\s+751 lock, 750 …\s+~\d+s$/, 'modes of all waiters (cut to the column)');
});

// ---- with probes: make sites, activity, following a hand-off ----

const NOW = 50e9;
const ACTIVITY: ChannelActivity = {
  made: { atNs: NOW - 40e9, goid: 5, pc: 0x4a1234, function: 'example.com/app/internal/queue.NewPipeline', file: '/src/app/internal/queue/pipeline.go', line: 74 },
  sends: 1204, recvs: 1180, opsExact: false, lastSend: { goid: 100, atNs: NOW - 3e9 }, lastRecv: { goid: 12, atNs: NOW - 2e9 },
  parks: 40, wakes: 37, lastWake: { atNs: NOW - 2e9, waker: 12, woken: 40 },
};

function probed(activity: Record<string, ChannelActivity>, more: Partial<WaitExtras> = {}): WaitExtras {
  return { ...NO_WAIT_EXTRAS, activity: (a) => activity[a], nowNs: NOW, ...more };
}

test.serial('c with probes: a channel made while they watched is labelled by its make site, with a line of activity', async (t) => {
  const r = mount(withWaits(), { waits: probed({ '0xc000100000': ACTIVITY }) });
  await press(r, 'c');
  const ls = r.lines();
  const at = ls.findIndex((l) => l.startsWith('0xc000100000'));
  t.regex(ls[at]!, /^0xc000100000\s+queue\.NewPipeline pipeline\.go:74\s+0\/0\s+12\s+0\s+~3m00s/, r.lastFrame());
  // Not probed throughout: the counts are lower bounds.
  t.is(ls[at + 1], '    ≥1,204 sends · ≥1,180 recvs · 37 wakes · last send G100 3.0s ago · last recv G12 2.0s ago');
  // The other channel has no activity: its element type, and no activity line.
  t.regex(ls[at + 2]!, /^0xc000200000\s+chan int\s/);
});

test.serial('activity: exact counts unmarked, no counts when chansend/chanrecv were not probed, closed by', (t) => {
  const base = { sends: 0, recvs: 0, opsExact: false, parks: 0, wakes: 1 };
  t.is(activityText({ ...base, sends: 7, recvs: 6, opsExact: true }, NOW), '7 sends · 6 recvs · 1 wake');
  t.is(activityText({ ...base, closed: { goid: 7, atNs: NOW - 350e6 } }, NOW), '1 wake · closed by G7 350ms ago');
});

test.serial('Enter on a probed channel: its make site, waiters and last hand-off; f opens the waker\'s stack, Esc comes back', async (t) => {
  const r = mount(withWaits(), { waits: probed({ '0xc000100000': ACTIVITY }) });
  await press(r, 'c', KEY.enter);
  let ls = r.lines();
  const at = ls.findIndex((l) => l.startsWith('0xc000100000'));
  t.is(`${ls[at + 2]!.trim()} ${ls[at + 3]!.trim()}`, 'chan main.job, made by G5 at example.com/app/internal/queue.NewPipeline /src/app/internal/queue/pipeline.go:74 40s ago');
  t.true(ls.some((l) => /^\s+send\s+goroutine 100\s+chan send/.test(l)), r.lastFrame());
  await press(r, KEY.end); // the open channel's last lines
  t.true(r.lines().some((l) => /^\s+last hand-off: G12 woke G40 2\.0s ago {2}\(f: follow to G12\)$/.test(l)), r.lastFrame());
  await press(r, KEY.home, 'f');
  ls = r.lines();
  t.true(ls.some((l) => /^goroutine 12 \[chan receive, blocked ~5s\]/.test(l)), r.lastFrame());
  await press(r, KEY.esc);
  ls = r.lines();
  t.true(ls.some((l) => l.startsWith('0xc000100000')), 'back in the wait view');
  t.true(ls.some((l) => /^\s+last hand-off: G12 woke G40/.test(l)), 'with the channel still open');
});

test.serial('f on a channel with no hand-off seen says why', async (t) => {
  let r = mount(withWaits(), { waits: probed({}) });
  await press(r, 'c', 'f');
  t.regex(r.lines().at(-1)!, /^no hand-off seen on 0xc000100000 since the probes attached/);
  cleanup();
  r = mount(withWaits());
  await press(r, 'c', 'f');
  t.regex(r.lines().at(-1)!, /^following a hand-off needs the probes/);
});

// ---- locks and deadlocks ----

const LOCKS: LockJSON[] = [
  { address: '0xc000300000', kind: 'mutex', waiters: [20, 21, 22].map((goroutine) => ({ goroutine, mode: 'lock' as const })) },
  { address: '0xc000400000', kind: 'rwmutex', waiters: [{ goroutine: 10, mode: 'rlock' }, { goroutine: 11, mode: 'rlock' }, { goroutine: 12, mode: 'lock' }] },
];

const DEADLOCK: DeadlockJSON = {
  goroutines: [20, 21],
  path: [
    { goroutine: 20, waitsOn: { kind: 'channel', address: '0xc000100000', op: 'receive' }, wakers: [20, 21] },
    { goroutine: 21, waitsOn: { kind: 'mutex', address: '0xc000300000', mode: 'lock' }, wakers: [20] },
  ],
  evidence: ['goroutine 20 is blocked (chan receive) on chan main.job 0xc000100000', 'no other goroutine and no global variable reaches these objects: conservative heap mark from 30 goroutine stacks (40 KiB)'],
};

test.serial('c: locks grouped by object below the channels, with waiters by mode and the longest BLOCKED; Enter lists them', async (t) => {
  const r = mount(withWaits(), { waits: { ...NO_WAIT_EXTRAS, locks: LOCKS, deadlocksChecked: true } });
  await press(r, 'c');
  let ls = r.lines();
  t.true(ls.some((l) => /^WAITS {2}0 deadlocks · 2 channels · 2 locks with waiters/.test(l)), r.lastFrame());
  const title = ls.findIndex((l) => l.startsWith('LOCK'));
  t.regex(ls[title]!, /^LOCK\s+KIND\s+WAITING\s+MODES\s+LONGEST$/);
  t.regex(ls[title + 1]!, /^0xc000300000\s+sync\.Mutex\s+3\s+3 lock\s+~5s$/);
  t.regex(ls[title + 2]!, /^0xc000400000\s+sync\.RWMutex\s+3\s+2 rlock, 1 lock\s+~5s$/);
  await press(r, KEY.down, KEY.down, KEY.enter);
  ls = r.lines();
  const at = ls.findIndex((l) => l.startsWith('0xc000300000'));
  t.regex(ls[at + 1]!, /^\s+lock\s+goroutine 20\s+sync\.Mutex\.Lock\s+~5s\s+main\.lookup cache\.go:17/);
  t.regex(ls[at + 3]!, /^\s+lock\s+goroutine 22\s/);
});

test.serial('a proven deadlock: a banner over the table, ! on its goroutines\' rows, first in c; Enter shows the path and evidence', async (t) => {
  const r = mount(withWaits(), { waits: { ...NO_WAIT_EXTRAS, locks: LOCKS, deadlocks: [DEADLOCK], deadlocksChecked: true, deadlocked: new Map([[20, 0], [21, 0]]) } });
  await press(r);
  let ls = r.lines();
  t.is(ls[4], 'DEADLOCK: G20 ⇄ G21 via chan main.job 0xc000100000 / sync.Mutex 0xc000300000  c: path and evidence', r.lastFrame());
  t.regex(ls[5]!, /^\s+ID STATE/);
  t.true(ls.some((l) => /^\s+!20 sync\.Mutex\.Lock/.test(l)), r.lastFrame());
  t.true(ls.some((l) => /^\s+!21 sync\.Mutex\.Lock/.test(l)));
  t.true(ls.some((l) => /^\s+22 sync\.Mutex\.Lock/.test(l)), 'not in the cycle: no mark');
  t.is(ls.length, 24, 'the banner takes a table row, not the footer');
  await press(r, 'c');
  ls = r.lines();
  t.regex(ls.find((l) => l.startsWith('WAITS'))!, /^WAITS {2}1 deadlock · 2 channels · 2 locks/);
  const at = ls.findIndex((l) => l.startsWith('DEADLOCK: G20 ⇄ G21'));
  t.true(at > 0, r.lastFrame());
  await press(r, KEY.enter);
  ls = r.lines();
  t.regex(ls[at + 1]!, /^\s+G20 waits on chan main\.job 0xc000100000; only the cycle's G21 could wake it$/);
  t.regex(ls[at + 2]!, /^\s+G21 waits on sync\.Mutex 0xc000300000; only the cycle's G20 could wake it$/);
  t.regex(ls[at + 3]!, /^\s+evidence:$/);
  t.regex(ls[at + 4]!, /^\s+goroutine 20 is blocked \(chan receive\)/);
  // The long evidence line wraps at the screen's width rather than being cut.
  t.true(ls.filter((l) => /^\s{6}\S/.test(l)).length >= 3, r.lastFrame());
  t.true(ls.every((l) => l.length <= 100));
  // f on a cycle opens its first goroutine's stack, which says it is in the cycle.
  await press(r, 'f');
  t.true(r.lines().some((l) => /^DEADLOCK: in a proven cycle with G21 \(c: path and evidence\)/.test(l)), r.lastFrame());
});

test.serial('deadlock proof not run (too many goroutines) is said in c', async (t) => {
  const r = mount(withWaits(), { waits: { ...NO_WAIT_EXTRAS, deadlocksChecked: false } });
  await press(r, 'c');
  t.true(r.lines().some((l) => /^WAITS {2}deadlocks not checked · /.test(l)), r.lastFrame());
  t.true(r.lines().some((l) => /^deadlock proof not run/.test(l)), r.lastFrame());
});

test.serial('the wait view at 80 columns: every line fits, the label column shrinks', async (t) => {
  const r = mount(withWaits(), { width: 80, height: 23, waits: probed({ '0xc000100000': ACTIVITY }, { locks: LOCKS, deadlocks: [DEADLOCK], deadlocksChecked: true, deadlocked: new Map([[20, 0], [21, 0]]) }) });
  await press(r, 'c');
  const ls = r.lines();
  t.true(ls.every((l) => l.length <= 80), r.lastFrame());
  t.regex(ls.find((l) => l.startsWith('0xc000100000'))!, /^0xc000100000\s+…ewPipeline pipeline\.go:74\s+0\/0\s+12\s+0\s+~3m00s$/);
  // The activity takes two lines there.
  const at = ls.findIndex((l) => l.startsWith('0xc000100000'));
  t.is(ls[at + 1], '    ≥1,204 sends · ≥1,180 recvs · 37 wakes · last send G100 3.0s ago');
  t.is(ls[at + 2], '    last recv G12 2.0s ago');
});

// ---- the stack at park time ----

test.serial('the stack view asks for the park-time stack and shows it under the current stack', async (t) => {
  const asked: number[] = [];
  const park: ParkStackState = { goid: 10, frames: [frame('main.worker', '/src/app/main.go', 40), frame('main.run', '/src/app/main.go', 12)], why: null };
  const r = mount(serviceView(), { parkStack: park, onStackOpen: (g) => asked.push(g) });
  await press(r, '/');
  await press(r, '^main\\.worker$', KEY.enter);
  await press(r, KEY.enter);
  t.deepEqual(asked, [10]);
  const ls = r.lines();
  const at = ls.findIndex((l) => l.startsWith('parked at (stack the probes captured when it parked):'));
  t.true(at > 0, r.lastFrame());
  t.true(at > ls.findIndex((l) => l.startsWith('created by main.main')), 'below the current stack');
  t.deepEqual(ls.slice(at + 1, at + 5).map((l) => l.trim()), ['main.worker()', '/src/app/main.go:40 +0x25', 'main.run()', '/src/app/main.go:12 +0x25']);
});

test.serial('no park-time stack: says why (e.g. --probes full captures one); another goroutine\'s is not shown', async (t) => {
  let r = mount(serviceView(), { parkStack: { goid: 10, frames: null, why: '--probes full captures one' } });
  await press(r, '/');
  await press(r, '^main\\.worker$', KEY.enter);
  await press(r, KEY.enter);
  t.true(r.lines().some((l) => l === 'no park-time stack: --probes full captures one'), r.lastFrame());
  cleanup();
  r = mount(serviceView(), { parkStack: { goid: 99, frames: [frame('main.other', '/src/app/main.go', 1)], why: null } });
  await press(r, '/');
  await press(r, '^main\\.worker$', KEY.enter);
  await press(r, KEY.enter);
  t.false(r.lines().some((l) => l.startsWith('parked at')), r.lastFrame());
});

test.serial('f to a waker that is no longer in the snapshot says so', async (t) => {
  const gone: ChannelActivity = { ...ACTIVITY, lastWake: { atNs: NOW - 1e9, waker: 9999, woken: 100 } };
  const r = mount(withWaits(), { waits: probed({ '0xc000100000': gone }) });
  await press(r, 'c', 'f');
  t.true(r.lines().some((l) => l === 'goroutine 9999: not in the latest snapshot (it has exited)'), r.lastFrame());
  await press(r, KEY.esc);
  t.true(r.lines().some((l) => l.startsWith('WAITS')), 'back in the wait view');
});
