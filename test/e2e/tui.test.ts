// The interactive view, driven like a user would: the real bin/gtop in a
// tmux terminal (send-keys, capture-pane) against the parking fixture, its
// screen compared with the runtime's own dump of the same process.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import test from 'ava';
import { SnapshotSource } from '../../src/cli/snapshot-source.ts';
import { GtopError } from '../../src/errors.ts';
import { GO_DIR, buildFixture } from '../helpers/build.ts';
import { GTOP_BIN, runGtop } from '../helpers/gtop.ts';
import { type OracleGoroutine, parseDump } from '../helpers/oracle.ts';
import { PARKING_KINDS, firstMainFrame } from '../helpers/parking.ts';
import { holders, httpGet, startFixture } from '../helpers/process.ts';
import { toolchainByMinor } from '../helpers/toolchains.ts';
import { parkEntries } from '../../src/model/probe.ts';

const run = promisify(execFile);

class Tmux {
  readonly socket = `gtop-e2e-${process.pid}`;
  readonly session = 'tui';
  async cmd(...args: string[]): Promise<string> {
    return (await run('tmux', ['-L', this.socket, ...args])).stdout;
  }
  start(cwd: string, command: string): Promise<string> {
    return this.cmd('new-session', '-d', '-s', this.session, '-x', '120', '-y', '40', '-c', cwd, command);
  }
  keys(...keys: string[]): Promise<string> {
    return this.cmd('send-keys', '-t', this.session, ...keys);
  }
  /** Types text literally (no key-name lookup). */
  type(text: string): Promise<string> {
    return this.cmd('send-keys', '-t', this.session, '-l', text);
  }
  screen(escapes = false): Promise<string> {
    return this.cmd('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', this.session);
  }
  display(format: string): Promise<string> {
    return this.cmd('display-message', '-p', '-t', this.session, format);
  }
  /** Polls the screen until `re` matches, or `re` is a predicate that holds (generously: snapshots and tsx startup take a while). */
  async waitFor(re: RegExp | ((screen: string) => boolean), what: string, timeoutMs = 60_000): Promise<string> {
    const ok = typeof re === 'function' ? re : (s: string) => re.test(s);
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      last = await this.screen();
      if (ok(last)) return last;
      await sleep(150);
    }
    throw new Error(`timed out waiting for ${what} (${re}); screen:\n${last}`);
  }
  async kill(): Promise<void> {
    await this.cmd('kill-server').catch(() => {});
  }
}

/** Table rows of a screen, cut into columns where the titles are. */
function tableRows(screen: string): Row[] {
  const lines = screen.split('\n');
  const title = lines.findIndex((l) => /^\s+ID STATE/.test(l));
  if (title < 0) throw new Error(`no table on screen:\n${screen}`);
  const head = lines[title]!;
  const state = head.indexOf('STATE');
  const loc = head.indexOf('LOCATION');
  const creator = head.indexOf('CREATED BY');
  // BLOCKED is right-aligned in the 9 columns before CHANNEL (with probes) or LOCATION.
  const chan = head.indexOf('CHANNEL');
  const blocked = (chan >= 0 ? chan : loc) - 10;
  return lines.slice(title + 1).filter((l) => /^\s+\d+ /.test(l)).map((l) => {
    const b = l.slice(blocked, loc - 1).trim();
    return {
      id: Number(l.slice(0, state)),
      state: l.slice(state, blocked).trim(),
      blockedSec: b === '' ? null : seconds(b),
      location: l.slice(loc, creator).trim(),
    };
  });
}

interface Row { id: number; state: string; blockedSec: number | null; location: string }

function seconds(text: string): number {
  let s = 0;
  for (const [, n, unit] of text.replace('~', '').matchAll(/(\d+(?:\.\d+)?)(ms|d|h|m|s)/g)) {
    s += Number(n) * ({ ms: 0.001, d: 86_400, h: 3600, m: 60, s: 1 } as Record<string, number>)[unit!]!;
  }
  return s;
}

function comm(pid: number): string {
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}

/** Every process below `pid`, from the parent ids in /proc/N/stat. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'latin1');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [c, pp] of parent) {
      if (pp !== p) continue;
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function byId(gs: readonly OracleGoroutine[]): Map<number, OracleGoroutine> {
  return new Map(gs.map((g) => [g.id, g]));
}

// Serial: both keep the two cores busy (the fixture's spinners, gtop).
test.serial('gtop -p PID in a terminal: sort, filter, stack, dump, quit', async (t) => {
  const bin = await buildFixture('parking', toolchainByMinor(26), { stripped: false, pie: false });
  // Short-lived goroutines keep arriving: they must never outrank the parked ones.
  const fx = await startFixture(bin, ['-churn', '20'], { t });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gtop-tui-'));
  const tmux = new Tmux();
  t.teardown(async () => {
    await tmux.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  await tmux.start(dir, `env GTOP_FROM_SOURCE=1 NO_COLOR=1 ${process.execPath} ${GTOP_BIN} -p ${fx.pid}; echo GTOP_EXIT=$?; sleep 600`);

  // The longest blocked on top, after a few refreshes.
  let screen = await tmux.waitFor(/^\s+ID STATE\s+BLOCKED↓.*\n\s+\d+ /m, 'the table', 120_000);
  t.regex(screen, new RegExp(`^gtop  pid ${fx.pid} parking-go1\\.26\\S*  go1\\.26\\.\\d+  up \\d+s  every 1s`, 'm'));
  screen = await tmux.waitFor((sc) => (tableRows(sc)[0]?.blockedSec ?? 0) >= 3, 'blocked times of 3 s or more');
  const rows = tableRows(screen);
  t.true(rows.length >= 30, `a full page: ${rows.length} rows`);
  const oracle = byId(parseDump(await fx.dump()).goroutines);
  const top = rows[0]!;
  t.true(top.blockedSec! >= 3, JSON.stringify(top));
  for (const r of rows.slice(1)) t.true(r.blockedSec === null || r.blockedSec <= top.blockedSec!, `${JSON.stringify(r)} is below ${JSON.stringify(top)}`);
  for (let i = 1; i < rows.length; i++) t.true((rows[i]!.blockedSec ?? -1) <= (rows[i - 1]!.blockedSec ?? -1), `sorted at row ${i}`);
  // The dump is taken after the screen: a goroutine woken in between shows
  // runnable/running there (seen once under load); otherwise states agree.
  const topNow = oracle.get(top.id)?.status;
  if (topNow === 'runnable' || topNow === 'running') t.log(`goroutine ${top.id} woke between the screen and the dump`);
  else t.is(topNow, top.state, 'the top goroutine is parked as the runtime says');
  t.not(firstMainFrame(oracle.get(top.id)!), 'main.churnOne');
  t.true(rows.every((r) => !r.location.startsWith('main.churnOne') || r.blockedSec! < top.blockedSec!));

  // No colors with NO_COLOR (attributes such as inverse and bold are not colors).
  t.notRegex(await tmux.screen(true), /\x1b\[(?:[0-9;]*;)?(?:3[0-7]|4[0-7]|9[0-7]|38;5|48;5)m/);

  // > sorts by the next column: CHANNEL (with probes: the header says they are on), then LOCATION, ascending.
  t.regex(screen, /│ probes: uprobes light: park ready exit/);
  await tmux.keys('>');
  await tmux.waitFor(/^sort CHANNEL↓/m, 'the CHANNEL sort');
  await tmux.keys('>');
  screen = await tmux.waitFor(/^\s+ID STATE\s+BLOCKED\s+CHANNEL\s+LOCATION↑/m, 'the LOCATION sort');
  t.regex(screen, /^sort LOCATION↑/m);
  // Locations cut to the column (…) sort by their full text: compare the others.
  const locations = tableRows(screen).map((r) => r.location).filter((l) => !l.startsWith('…'));
  t.true(locations.length > 20);
  t.deepEqual(locations, [...locations].sort(), 'rows in LOCATION order');

  // / filters; Enter keeps the filter.
  await tmux.keys('/');
  await tmux.waitFor(/^\/\s*$/m, 'the filter prompt');
  await tmux.type('^main\\.chanRecv$');
  await tmux.keys('Enter');
  screen = await tmux.waitFor(/filter \/\^main\\\.chanRecv\$\/ 2 shown/, 'the applied filter');
  const filtered = tableRows(screen);
  t.is(filtered.length, 2);
  for (const r of filtered) t.regex(r.location, /^main\.chanRecv parkers\.go:\d+/);

  // Enter shows that goroutine's stack: the runtime's frames with file:line.
  await tmux.keys('Enter');
  screen = await tmux.waitFor(new RegExp(`^goroutine ${filtered[0]!.id} \\[chan receive, blocked ~\\d+s\\]`, 'm'), 'the stack view');
  const expected = oracle.get(filtered[0]!.id)!;
  for (const f of expected.frames) {
    t.true(screen.includes(`${f.function}${f.inlined ? '(...)' : '()'}`), `${f.function} on screen`);
    t.true(screen.includes(`${f.file}:${f.line}`), `${f.file}:${f.line} on screen`);
  }
  t.true(screen.includes(`created by ${expected.createdBy!.function} in goroutine ${expected.parentId}`));

  // d dumps every goroutine while the target runs on.
  await tmux.keys('Escape');
  await tmux.waitFor(/^\s+ID STATE/m, 'the table again');
  await tmux.keys('Escape');
  await tmux.waitFor(/^sort LOCATION↑  group none  system hidden$/m, 'the filter cleared');
  const before = parseDump(await fx.dump());
  await tmux.keys('d');
  screen = await tmux.waitFor(/^dump of \d+ goroutines written to (\S+)/m, 'the dump message');
  const file = /^dump of \d+ goroutines written to (\S+)/m.exec(screen)![1]!;
  const after = parseDump(await fx.dump());
  t.is(path.dirname(file), dir);
  t.is(statSync(file).mode & 0o777, 0o600);
  const text = readFileSync(file, 'utf8');
  const every = parseDump(text.slice(text.indexOf('=== every goroutine ===\n') + 24));
  const dumped = new Set(every.goroutines.map((g) => g.id));
  // Every goroutine the runtime listed both before and after (churners come and go; the dumping one is the runtime's own).
  const afterIds = new Set(after.goroutines.map((g) => g.id));
  const lasting = before.goroutines.filter((g) => afterIds.has(g.id) && g.status !== 'running');
  t.true(lasting.length >= PARKING_KINDS.reduce((n, k) => n + k.count, 0), `${lasting.length} lasting goroutines`);
  t.deepEqual(lasting.filter((g) => !dumped.has(g.id)).map((g) => g.id), []);
  t.regex(text, /^\d+ goroutines \[chan send\]: /m, 'the grouped part comes first');

  // A resize to 80×24 redraws cleanly.
  await tmux.cmd('resize-window', '-t', tmux.session, '-x', '80', '-y', '24');
  screen = await tmux.waitFor(/^\s+ID STATE\s+BLOCKED/m, 'the table at 80×24');
  await sleep(1500);
  screen = await tmux.screen();
  const lines = screen.split('\n');
  t.regex(lines[0]!, /^gtop  pid \d+ /);
  t.regex(lines[4]!, /^\s+ID STATE/);
  t.regex(lines[22]!, /^dump of \d+ goroutines written to \/.{20,}…$/, 'the footer, cut to 80 columns');
  t.true(lines.every((l) => l.length <= 80));

  // q quits: the shell's screen back, the cursor shown, nothing left attached.
  await tmux.keys('q');
  await tmux.waitFor(/^GTOP_EXIT=0$/m, 'gtop to exit');
  t.is((await tmux.display('#{alternate_on} #{cursor_flag}')).trim(), '0 1');
  const pane = Number((await tmux.display('#{pane_pid}')).trim());
  t.deepEqual([pane, ...descendants(pane)].map(comm), ['sleep'], 'only the pane\'s sleep is left');
  t.deepEqual(holders(`/proc/${fx.pid}/mem`), []);
});

test.serial('gtop -p PID in a terminal: c lists the channels goroutines wait on, Enter their goroutines; l the leak suspects', async (t) => {
  const bin = await buildFixture('parking', toolchainByMinor(26), { stripped: true, pie: true });
  const fx = await startFixture(bin, [], { t });
  // The same channels as --once --json reads them, for reference.
  const res = await runGtop(['-p', String(fx.pid), '--once', '--json', '--probes', 'off']);
  t.is(res.code, 0, res.stderr);
  const channels = (JSON.parse(res.stdout) as { channels: { address: string; cap: number; senders: unknown[]; receivers: { goroutine: number }[] }[] }).channels;
  const send = channels.find((c) => c.senders.length === 3 && c.cap === 0);
  t.truthy(send, 'main.chanSend\'s 3 senders on an unbuffered channel');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gtop-tui-'));
  const tmux = new Tmux();
  t.teardown(async () => {
    await tmux.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  await tmux.start(dir, `env GTOP_FROM_SOURCE=1 NO_COLOR=1 ${process.execPath} ${GTOP_BIN} -p ${fx.pid} --probes off; echo GTOP_EXIT=$?; sleep 600`);
  await tmux.waitFor(/^\s+ID STATE\s+BLOCKED↓.*\n\s+\d+ /m, 'the table', 120_000);

  await tmux.keys('c');
  let screen = await tmux.waitFor(/^CHANNEL\s+MADE AT, OR TYPE\s+LEN\/CAP\s+CLOSED\s+SEND\s+RECV\s+LONGEST$/m, 'the channel view');
  // Without probes, channels are labelled by their element type.
  t.regex(screen, new RegExp(`^${send!.address}\\s+chan \\S+\\s+0/0\\s+3\\s+0\\s+~\\d+s`, 'm'), 'the senders\' channel with its 3 senders');
  const recv = channels.find((c) => c.receivers.length > 0)!;
  t.regex(screen, new RegExp(`^${recv.address}\\s+chan .*\\s+\\d+/\\d+\\s+(?:closed\\s+)?\\d+\\s+${recv.receivers.length}\\s`, 'm'), 'a channel with its receivers');
  // Enter on the first channel (most waiters) lists its goroutines.
  await tmux.keys('Enter');
  screen = await tmux.waitFor(/^\s+(?:send|recv)(?: \(select\))?\s+goroutine \d+\s+chan /m, 'the waiting goroutines');
  t.regex(screen, /^\s+chan \S+/m, 'the open channel\'s type');
  t.regex(screen, new RegExp(`goroutine ${(channels[0]!.senders[0] as { goroutine: number } | undefined)?.goroutine ?? channels[0]!.receivers[0]!.goroutine}\\s`));

  await tmux.keys('l');
  screen = await tmux.waitFor(/^LEAK SUSPECTS/m, 'the leak-suspect view');
  t.regex(screen, /^(?:no leak suspects|\S+: \d+ blocked on )/m);
  await tmux.keys('Escape');
  await tmux.waitFor(/^\s+ID STATE/m, 'the table again');
  await tmux.keys('q');
  await tmux.waitFor(/^GTOP_EXIT=0$/m, 'gtop to exit');
});

test.serial('gtop -p PID in a terminal: a proven deadlock is flagged over the table and on its rows; c shows its path and the locks', async (t) => {
  const fx = await startFixture(await buildFixture('waits', toolchainByMinor(26), { stripped: false, pie: true }), [], { t });
  const objects = JSON.parse(await httpGet(`${fx.url}/objects`)) as Record<string, string>;
  // Which goroutines are the program's channel deadlock (main.deadFirst, main.deadSecond); the program serves no dump.
  const res = await runGtop(['-p', String(fx.pid), '--once', '--json', '--probes', 'off']);
  t.is(res.code, 0, res.stderr);
  const gs = (JSON.parse(res.stdout) as { goroutines: { id: number; frames: { function: string }[] }[] }).goroutines;
  const idOf = (fn: string): number => gs.find((g) => g.frames.some((f) => f.function === fn))!.id;
  // The cycle's walk starts at the lower goid.
  const [first, second] = [idOf('main.deadFirst'), idOf('main.deadSecond')].sort((a, b) => a - b) as [number, number];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gtop-tui-'));
  const tmux = new Tmux();
  t.teardown(async () => {
    await tmux.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  await tmux.start(dir, `env GTOP_FROM_SOURCE=1 NO_COLOR=1 ${process.execPath} ${GTOP_BIN} -p ${fx.pid} --probes off; echo GTOP_EXIT=$?; sleep 600`);

  // The banner over the table once the proof has run, and ! on the cycle's rows.
  let screen = await tmux.waitFor(/^DEADLOCK: G\d+ (?:⇄|→) G\d+.* via .*c: path and evidence$/m, 'the deadlock banner', 120_000);
  const lines = screen.split('\n');
  t.regex(lines[5]!, /^\s+ID STATE/, 'the banner sits between the header and the table');
  for (const id of [first, second]) t.regex(screen, new RegExp(`^\\s+!${id} chan receive\\s`, 'm'), `goroutine ${id} marked`);
  t.regex(screen, /^\s+\d+ select\s+/m, 'main.selectThree, which a sender could still wake, is not marked');

  // c: the cycle, named by its goroutines and channels; the mutex with its 3 contenders.
  await tmux.keys('c');
  const cycle = new RegExp(`^DEADLOCK: G${first} ⇄ G${second} via (?:chan int ${objects['deadA']} / chan int ${objects['deadB']}|chan int ${objects['deadB']} / chan int ${objects['deadA']})$`, 'm');
  screen = await tmux.waitFor(cycle, 'the channel deadlock in the wait view');
  t.regex(screen, /^WAITS {2}\d+ deadlocks? · \d+ channels · \d+ locks with waiters/m);
  t.regex(screen, /^LOCK\s+KIND\s+WAITING\s+MODES\s+LONGEST$/m);
  t.regex(screen, new RegExp(`^${objects['mutex']}\\s+sync\\.Mutex\\s+3\\s+3 lock\\s+~\\d+s$`, 'm'), 'the contended mutex');
  t.regex(screen, new RegExp(`^${objects['waitgroup']}\\s+sync\\.WaitGroup\\s+3\\s+3 wait\\s`, 'm'));

  // Enter on the cycle: its path and the proof's evidence.
  const at = screen.split('\n').filter((l) => /^DEADLOCK: /.test(l)).findIndex((l) => cycle.test(l));
  for (let i = 0; i < at; i++) await tmux.keys('Down');
  await tmux.keys('Enter');
  screen = await tmux.waitFor(new RegExp(`^\\s+G${first} waits on chan int 0x[0-9a-f]+; only the cycle's G${second} could wake it$`, 'm'), 'the cycle\'s path');
  t.regex(screen, new RegExp(`^\\s+G${second} waits on chan int 0x[0-9a-f]+; only the cycle's G${first} could wake it$`, 'm'));
  t.regex(screen, /^\s+evidence:$/m);
  t.regex(screen, new RegExp(`^\\s+goroutine ${first} is blocked \\(chan receive\\)`, 'm'));

  await tmux.keys('q');
  await tmux.waitFor(/^GTOP_EXIT=0$/m, 'gtop to exit');
});

test.serial('gtop -p PID --probes full in a terminal: a channel made while it watches, by its make site, its activity and last hand-off; f follows it; the park-time stack', async (t) => {
  const fx = await startFixture(await buildFixture('handoff', toolchainByMinor(26), { stripped: false, pie: false }), [], { t });
  const source = readFileSync(path.join(GO_DIR, 'handoff', 'main.go'), 'utf8').split('\n');
  const makeLine = source.findIndex((l) => l.includes('// the make site the probes see')) + 1;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gtop-tui-'));
  const tmux = new Tmux();
  t.teardown(async () => {
    await tmux.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  await tmux.start(dir, `env GTOP_FROM_SOURCE=1 NO_COLOR=1 ${process.execPath} ${GTOP_BIN} -p ${fx.pid} --probes full; echo GTOP_EXIT=$?; sleep 600`);
  await tmux.waitFor(/│ probes: uprobes full: .*makechan/, 'the probes attached', 120_000);
  // Only now is the channel made: the makechan probe sees it.
  const started = JSON.parse(await httpGet(`${fx.url}/start`)) as { relay: string; receiver: number };

  await tmux.keys('c');
  const entry = new RegExp(`^${started.relay}\\s+main\\.startRelay main\\.go:${makeLine}\\s+0/0\\s+[1-3]\\s+0\\s`, 'm');
  let screen = await tmux.waitFor(entry, 'the relay labelled by its make site');
  // What the probes saw: sends, receives (≥ when not probed throughout), wakes, the last receive by the receiver.
  screen = await tmux.waitFor(new RegExp(`^\\s+≥?[\\d,]+ sends · ≥?[\\d,]+ recvs · [\\d,]+ wakes? · last send G\\d+ \\S+ ago · last recv G${started.receiver} \\S+ ago$`, 'm'), 'the relay\'s activity');

  // Enter: where it was made, its senders, and the last hand-off: the receiver woke a sender.
  await tmux.keys('Enter');
  screen = await tmux.waitFor(new RegExp(`^\\s+last hand-off: G${started.receiver} woke G\\d+ \\S+ ago {2}\\(f: follow to G${started.receiver}\\)$`, 'm'), 'the last hand-off');
  t.regex(screen, new RegExp(`^\\s+chan int, made by G\\d+ at main\\.startRelay \\S+/handoff/main\\.go:${makeLine} `, 'm'));
  t.regex(screen, /^\s+send\s+goroutine \d+\s+chan send\s+.*main\.sender main\.go:\d+$/m);

  // f follows the edge to the receiver's stack; Esc comes back to the wait view.
  await tmux.keys('f');
  screen = await tmux.waitFor(new RegExp(`^goroutine ${started.receiver} \\[`, 'm'), 'the receiver\'s stack');
  t.regex(screen, /^main\.receiver\(\)$/m);
  await tmux.keys('Escape');
  await tmux.waitFor(entry, 'the wait view again');

  // A sender's stack view: the stack the probes captured when it parked, below its current stack.
  await tmux.keys('Escape');
  await tmux.waitFor(/^\s+ID STATE/m, 'the table');
  await tmux.keys('/');
  await tmux.waitFor(/^\/\s*$/m, 'the filter prompt');
  await tmux.type('^main\\.sender$');
  await tmux.keys('Enter');
  await tmux.waitFor(/filter \/\^main\\\.sender\$\/ 3 shown/, 'the senders');
  await tmux.keys('Enter');
  screen = await tmux.waitFor(/^parked at \(stack the probes captured when it parked\):\n(?:.*\n)*main\.sender\(\)$/m, 'the park-time stack');
  t.regex(screen, /^goroutine \d+ \[/m);

  await tmux.keys('q');
  await tmux.waitFor(/^GTOP_EXIT=0$/m, 'gtop to exit');
});

test.serial('the snapshot worker: errors come back as the GtopError they were; close releases the target', async (t) => {
  await t.throwsAsync(SnapshotSource.open({ pid: 4_194_303, probes: 'off', budgetPct: 1 }), { instanceOf: GtopError, message: /no process with PID 4194303/ });
  const bin = await buildFixture('parking', toolchainByMinor(26), { stripped: false, pie: false });
  const fx = await startFixture(bin, [], { t });
  const { source, comm } = await SnapshotSource.open({ pid: fx.pid, probes: 'off', budgetPct: 1 });
  t.teardown(() => source.close());
  t.regex(comm, /^parking-go1\.26/);
  t.is(await source.probes, null);
  const before = parseDump(await fx.dump());
  const { snap, probe } = await source.snapshot();
  t.is(probe, null);
  const after = new Set(parseDump(await fx.dump()).goroutines.map((g) => g.id));
  const ours = new Set(snap.goroutines.filter((g) => !g.system).map((g) => g.id));
  const lasting = before.goroutines.filter((g) => after.has(g.id) && g.status !== 'running');
  t.deepEqual(lasting.filter((g) => !ours.has(g.id)).map((g) => g.id), []);
  t.true(snap.takenAt instanceof Date);
  t.true(holders(`/proc/${fx.pid}/mem`).length > 0, 'the worker holds the target open');
  await source.close();
  await source.close();
  t.deepEqual(holders(`/proc/${fx.pid}/mem`), []);
  await t.throwsAsync(source.snapshot(), { message: /closed/ });
  await fx.stop();
});

test.serial('the snapshot worker with probes: park times for the snapshot\'s goroutines, created/exited counts', async (t) => {
  const bin = await buildFixture('parking', toolchainByMinor(26), { stripped: false, pie: false });
  // Goroutines that start, sleep 20 ms and exit: parks and exits the probes see.
  const fx = await startFixture(bin, ['-churn', '200'], { t });
  const { source } = await SnapshotSource.open({ pid: fx.pid, probes: 'light', budgetPct: 5 });
  t.teardown(() => source.close());
  t.is(await source.probes, null, 'probes attach (run as root)');
  await sleep(1500);
  let exact = 0;
  for (let i = 0; i < 5; i++) {
    const { snap, probe } = await source.snapshot();
    t.truthy(probe);
    t.regex(probe!.mode, /^uprobes light: park ready exit/);
    const byId = new Map(snap.goroutines.map((g) => [g.id, g]));
    for (const [goid, park] of parkEntries(probe!.parks)) {
      t.is(byId.get(goid)?.waitReason, park.reason, `goroutine ${goid}`);
      t.true(park.parkedAtNs <= probe!.nowNs);
      exact++;
    }
    t.true(probe!.counters.exited > 0 && probe!.counters.created > 0, JSON.stringify(probe!.counters));
    await sleep(200);
  }
  t.true(exact > 0, 'some churners were caught parked, with their park time');
  await source.close();
  t.deepEqual(holders(`/proc/${fx.pid}/mem`), []);
});

test.serial('the snapshot worker\'s wait analysis: locks and proven deadlocks; with probes, the analysed channels\' activity and a park-time stack on request', async (t) => {
  const waits = await startFixture(await buildFixture('waits', toolchainByMinor(26), { stripped: true, pie: true }), [], { t });
  const objects = JSON.parse(await httpGet(`${waits.url}/objects`)) as Record<string, string>;
  let { source } = await SnapshotSource.open({ pid: waits.pid, probes: 'off', budgetPct: 1 });
  t.teardown(() => source.close());
  const { analysis } = await source.snapshot();
  t.truthy(analysis, 'a small target is analysed at every refresh');
  t.true(analysis!.deadlocksChecked);
  t.like(analysis!.locks.find((l) => l.address === objects['mutex']), { kind: 'mutex' });
  t.is(analysis!.locks.find((l) => l.address === objects['mutex'])!.waiters.length, 3);
  const chanCycle = analysis!.deadlocks.find((d) => d.path.some((s) => s.waitsOn.address === objects['deadA']));
  t.truthy(chanCycle, JSON.stringify(analysis!.deadlocks.map((d) => d.path.map((s) => s.waitsOn.address))));
  t.is(chanCycle!.goroutines.length, 2);
  t.is(await source.parkStack(chanCycle!.goroutines[0]!), null, 'no probes, no park-time stack');
  await source.close();

  const fx = await startFixture(await buildFixture('handoff', toolchainByMinor(26), { stripped: false, pie: true }), [], { t });
  ({ source } = await SnapshotSource.open({ pid: fx.pid, probes: 'full', budgetPct: 5 }));
  t.is(await source.probes, null, 'probes attach (run as root)');
  const started = JSON.parse(await httpGet(`${fx.url}/start`)) as { relay: string; receiver: number };
  let activity;
  let frames = null;
  // Until the relay is analysed and a sender caught parked (each is woken every 300 ms).
  for (let i = 0; i < 50 && (activity === undefined || frames === null); i++) {
    const { probe } = await source.snapshot();
    activity = probe!.channels.find(([addr]) => addr === Number(started.relay))?.[1];
    const sender = activity?.lastWake?.woken;
    if (sender !== undefined) frames = await source.parkStack(sender);
    await sleep(100);
  }
  t.like(activity?.made, { function: 'main.startRelay' });
  t.is(activity?.lastWake?.waker, started.receiver, 'the receiver hands off to the senders');
  t.true(frames !== null && frames.some((f) => f.function === 'main.sender'), JSON.stringify(frames));
  await source.close();
});
