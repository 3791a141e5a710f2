import test from 'ava';
import { cleanup, render } from 'ink-testing-library';
import type { ChannelJSON, LeakSuspectJSON } from '../../src/analysis/json.ts';
import type { ModelView } from '../../src/model/live.ts';
import { App, type AppProps } from '../../ui/App.tsx';
import { channelLines } from '../../ui/ChannelView.tsx';
import { KEY, press, serviceView } from './render.ts';

// The channel (c) and leak-suspect (l) views over the small service of goroutines.ts.
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

function mount(view: ModelView) {
  const props: AppProps = { view, pid: 4242, width: 100, height: 24, color: false, refreshSec: 1, onQuit: () => {}, onDump: () => '', onPause: () => {} };
  const r = render(<App {...props} />);
  return { ...r, lines: (): string[] => r.lastFrame()!.split('\n') };
}

const withWaits = (): ModelView => ({ ...serviceView(), channels: CHANNELS, leakSuspects: [SUSPECT] });

test.serial('c: channels, most waiters first, with element type, len/cap, senders, receivers and the longest BLOCKED', async (t) => {
  const r = mount(withWaits());
  await press(r, 'c');
  const ls = r.lines();
  const title = ls.findIndex((l) => l.startsWith('CHANNEL'));
  t.true(title > 0, r.lastFrame());
  t.regex(ls[title]!, /^CHANNEL\s+ELEMENT\s+LEN\/CAP\s+CLOSED\s+SEND\s+RECV\s+LONGEST BLOCKED$/);
  // goroutines 100, 101 have the runtime's 3 minutes; the workers were seen 5 s.
  t.regex(ls[title + 1]!, /^0xc000100000\s+main\.job\s+0\/0\s+12\s+0\s+~3m00s/);
  t.regex(ls[title + 2]!, /^0xc000200000\s+int\s+0\/4\s+0\s+5\s+~5s/);
  t.true(ls.every((l) => l.length <= 100));
  t.regex(ls.at(-1)!, /^Esc\/c:back/);
});

test.serial('c then Enter lists the waiting goroutines; Enter again folds; c returns to the table', async (t) => {
  const r = mount(withWaits());
  await press(r, 'c', KEY.down, KEY.enter);
  let ls = r.lines();
  const at = ls.findIndex((l) => l.startsWith('0xc000200000'));
  t.regex(ls[at + 1]!, /^\s+recv\s+goroutine 10\s+chan receive\s+~5s\s+main\.worker main\.go:42/);
  t.regex(ls[at + 5]!, /^\s+recv \(select\)\s+goroutine 14\s/);
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

test.serial('help lists c and l', async (t) => {
  const r = mount(serviceView());
  await press(r, '?');
  t.true(r.lines().some((l) => /^c {2}l\s+channels goroutines wait on \/ leak suspects/.test(l)), r.lastFrame());
  t.true(r.lines().some((l) => /^Esc\s+.*close the stack, channel, leak view or help/.test(l)), r.lastFrame());
});

test.serial('an open channel with many waiters lists the first thousand, then how many more', (t) => {
  const big: ChannelJSON = { ...CHANNELS[0]!, senders: ids(1000, 1500) };
  const lines = channelLines([big], new Map(), big.address);
  t.is(lines.length, 1 + 1000 + 1);
  t.regex(lines[1]!.text, /^\s+send\s+goroutine 1000\s+\(not in this snapshot\)/);
  t.is(lines.at(-1)!.text.trim(), '… and 500 more');
});
