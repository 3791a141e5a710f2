import test from 'ava';
import { cleanup, render } from 'ink-testing-library';
import type { ModelView } from '../../src/model/live.ts';
import { App, type AppProps } from '../../ui/App.tsx';
import { KEY, press, serviceView } from './render.ts';

// Serial: each test drives its own Ink instance with timed key presses.
test.afterEach.always(cleanup);

interface Calls {
  quit: number;
  dumps: boolean[];
  pauses: boolean[];
}

function mount(over: Partial<AppProps> = {}) {
  const calls: Calls = { quit: 0, dumps: [], pauses: [] };
  const props: AppProps = {
    view: serviceView(), pid: 4242, width: 100, height: 24, color: false, refreshSec: 1,
    onQuit: () => void calls.quit++,
    onDump: (sys) => (calls.dumps.push(sys), 'dump of 24 goroutines written to /tmp/gtop-4242.txt'),
    onPause: (p) => void calls.pauses.push(p),
    ...over,
  };
  const r = render(<App {...props} />);
  const lines = (): string[] => r.lastFrame()!.split('\n');
  /** The table rows: lines after the column titles, up to the footer. */
  const rows = (): string[] => {
    const ls = lines();
    const start = ls.findIndex((l) => /^\s+ID STATE/.test(l) || /^\s+COUNT/.test(l));
    return ls.slice(start + 1, -1).filter((l) => l.trim() !== '');
  };
  return { ...r, calls, lines, rows, props };
}

test.serial('the screen fits its size: header, table, footer; every line within the width', (t) => {
  const { lines } = mount({ width: 80, height: 24 });
  const ls = lines();
  t.is(ls.length, 24);
  t.true(ls.every((l) => l.length <= 80), ls.find((l) => l.length > 80));
  t.regex(ls[0]!, /^gtop  pid 4242 app  go1\.26\.8  up 1h02m  every 1s/);
  t.regex(ls[1]!, /^24 goroutines \+1 system ██  waiting 22 · runnable 1 · running 1$/);
  t.regex(ls[2]!, /^created 0\.0\/s  exited 0\.0\/s  snapshot 12 ms  │ no probes: figures from snapshot/);
  t.regex(ls[3]!, /^sort BLOCKED↓  group none  system hidden/);
  t.regex(ls.at(-1)!, /^\?:help/);
});

test.serial('the header says where the figures come from', (t) => {
  t.regex(mount({ noProbes: 'probes off' }).lines()[2]!, /│ probes off: figures from snapshots/);
  const v = serviceView();
  const withProbes: ModelView = { ...v, probes: { mode: 'uprobes light: park ready exit', overhead: 0.0012, drops: 3 } };
  t.regex(mount({ view: withProbes, width: 120 }).lines()[2]!, /│ probes: uprobes light: park ready exit  overhead 0\.12%  DROPS 3$/);
  t.regex(mount({ view: withProbes, width: 120 }).lines()[4]!, /^\s+ID STATE\s+BLOCKED↓ CHANNEL\s+LOCATION/);
});

test.serial('before the first snapshot it says what it is doing', (t) => {
  const { lines } = mount({ view: undefined });
  t.regex(lines()[1]!, /reading the goroutines of process 4242/);
});

test.serial('the default sort puts the longest blocked on top, approximate times marked with ~', (t) => {
  const { rows } = mount();
  t.regex(rows()[0]!, /^\s+100 chan send\s+~3m00s main\.handler\.func1 main\.go:28\s+main\.handler main\.go:26$/);
  t.regex(rows()[1]!, /^\s+101 chan send\s+~3m00s /);
  t.regex(rows()[2]!, /^\s+1 select \(no cases\)\s+~5s main\.main main\.go:70/);
});

test.serial('> and < change the sort column, F6 too, I inverts it', async (t) => {
  const r = mount();
  const { lines, rows } = r;
  await press(r, '>');
  t.regex(lines()[3]!, /^sort LOCATION↑/);
  t.regex(rows()[0]!, /main\.handler\.func1 main\.go:28/);
  await press(r, 'I');
  t.regex(lines()[3]!, /^sort LOCATION↓/);
  t.regex(rows()[0]!, /^\s+30 IO wait\s+~5s http\.\(\*conn\)\.serve server\.go:2103/);
  await press(r, '<', '<');
  t.regex(lines()[3]!, /^sort STATE↑/);
  t.regex(rows()[0]!, /IO wait/);
  await press(r, KEY.f6);
  t.regex(lines()[3]!, /^sort BLOCKED↓/);
});

test.serial('/ filters by regex as it is typed; Enter keeps it, Esc clears it', async (t) => {
  const r = mount();
  const { lines, rows } = r;
  await press(r, '/', 'm', 'u', 't', 'e', 'x');
  t.is(lines().at(-1)!.trimEnd(), '/mutex');
  t.deepEqual(rows().map((r) => r.trim().split(/\s+/)[0]), ['20', '21', '22']);
  await press(r, KEY.enter);
  t.regex(lines()[3]!, /filter \/mutex\/ 3 shown/);
  await press(r, KEY.esc);
  t.is(rows().length, 18, 'the page is full again');
  await press(r, '/', '(');
  t.regex(lines().at(-1)!, /^\/\( .*Invalid regular expression/);
  t.is(rows().length, 18, 'an invalid pattern filters nothing');
  await press(r, KEY.enter);
  t.regex(lines().at(-1)!, /^\/\(/, 'and is not applied');
});

test.serial('a filter that matches nothing says so', async (t) => {
  const r = mount();
  const { lines } = r;
  await press(r, '/', 'z', 'z', 'z', KEY.enter);
  t.true(lines().some((l) => l.startsWith('no goroutine matches the filter')));
});

test.serial('g cycles the grouping with a count per group; Enter expands a group', async (t) => {
  const r = mount();
  const { lines, rows } = r;
  await press(r, 'g');
  t.regex(lines()[3]!, /group creation site/);
  t.regex(lines()[4]!, /^\s+COUNT STATE\s+BLOCKED↓ GROUP: creation site\s*$/);
  t.regex(rows()[0]!, /^\s+▸ ×12 chan send\s+~3m00s main\.handler main\.go:26$/);
  t.regex(rows()[1]!, /^\s+▸ ×7 chan receive \+2\s+~5s main\.main main\.go:60$/);
  t.is(rows().length, 4);
  await press(r, KEY.down, KEY.enter);
  t.regex(rows()[1]!, /^\s+▾ ×7 /);
  t.is(rows().length, 11);
  t.regex(rows()[2]!, /^\s+10 chan receive/);
  await press(r, 'g');
  t.regex(lines()[3]!, /group top frame/);
  t.regex(rows()[0]!, /▸ ×12 chan send\s+~3m00s main\.handler\.func1 main\.go:28$/);
  await press(r, 'g');
  t.regex(lines()[3]!, /group whole stack/);
  t.regex(rows()[0]!, /▸ ×12 .*main\.handler\.func1 main\.go:28  \[3 frames\]$/);
  await press(r, 'g');
  t.regex(lines()[3]!, /group none/);
});

test.serial('Enter opens the full stack: every frame with file:line, inlined ones marked, the creator', async (t) => {
  const r = mount();
  const { lines } = r;
  await press(r, '/', 'lookup', KEY.enter, KEY.down, KEY.enter);
  const text = lines().join('\n');
  t.regex(text, /^goroutine 21 \[sync\.Mutex\.Lock, blocked ~5s\]$/m);
  t.regex(text, /^runtime\.gopark\(\)\n {4}\/usr\/lib\/go\/src\/runtime\/proc\.go:435 \+0x25$/m);
  t.regex(text, /^sync\.\(\*Mutex\)\.Lock\(\.\.\.\)  \[inlined\]\n {4}\/usr\/lib\/go\/src\/sync\/mutex\.go:81$/m);
  t.regex(text, /^main\.lookup\(\)\n {4}\/src\/app\/cache\.go:17 \+0x25$/m);
  t.regex(text, /^created by net\/http\.\(\*Server\)\.Serve in goroutine 1\n {4}\/usr\/lib\/go\/src\/net\/http\/server\.go:3464$/m);
  t.regex(lines().at(-1)!, /^Esc:back/);
  await press(r, KEY.esc);
  t.regex(lines()[4]!, /^\s+ID STATE/);
});

test.serial('the stack view keeps showing a goroutine after it exits', async (t) => {
  const r = mount();
  await press(r, KEY.enter);
  t.regex(r.lines()[4]!, /^goroutine 100 /);
  r.rerender(<App {...r.props} view={serviceViewWithout(100)} />);
  t.regex(r.lines()[4]!, /^goroutine 100 .*\(has exited: last seen stack\)$/);
});

function serviceViewWithout(id: number): ModelView {
  return serviceView(serviceView().rows.map((r) => r.g).filter((g) => g.id !== id));
}

test.serial('? shows the keys; Esc closes help', async (t) => {
  const r = mount();
  const { lines } = r;
  await press(r, '?');
  const text = lines().join('\n');
  t.regex(text, /^keys  \(Esc or \? to close\)$/m);
  for (const k of ['< >  F6', 'I', '/', 'g', 'Enter', 'd', 's', 'space', 'q  Ctrl-C']) t.regex(text, new RegExp(`^${k.replace(/[?*+()/]/g, '\\$&')}\\s{2,}\\S`, 'm'));
  await press(r, KEY.esc);
  t.regex(lines()[4]!, /^\s+ID STATE/);
});

test.serial('s shows the runtime\'s goroutines; d dumps and shows where; space pauses; q and Ctrl-C quit', async (t) => {
  const r = mount();
  const { lines, rows, calls } = r;
  await press(r, 's');
  t.regex(lines()[3]!, /system shown/);
  t.regex(rows()[3]!, /^\s+2 force gc \(idle\)\s+~5s runtime\.forcegchelper proc\.go:320/);
  await press(r, 'd');
  t.deepEqual(calls.dumps, [true]);
  t.is(lines().at(-1)!.trimEnd(), 'dump of 24 goroutines written to /tmp/gtop-4242.txt');
  await press(r, ' ');
  t.deepEqual(calls.pauses, [true]);
  t.regex(lines()[0]!, /PAUSED$/);
  await press(r, ' ', 'q', KEY.ctrlC);
  t.deepEqual(calls.pauses, [true, false]);
  t.is(calls.quit, 2);
});

test.serial('a refresh that failed is shown in place of the settings, the last rows kept', (t) => {
  const v = serviceView();
  const gone: ModelView = { ...v, error: 'process 4242 exited while gtop was reading it', gone: true };
  const { lines, rows } = mount({ view: gone });
  t.regex(lines()[3]!, /^process 4242 exited while gtop was reading it: showing the last snapshot \(d still dumps it, q quits\)/);
  t.is(rows().length, 18);
});
