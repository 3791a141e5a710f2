/** @jsxRuntime automatic @jsxImportSource react */
// The wait view (c): what goroutines wait on. Proven deadlock cycles first,
// then every channel with waiters (most first) labelled by where it was made
// (probes) or by its element type, with its buffer, closed, senders and
// receivers, the longest BLOCKED and what the probes saw it do; then the
// locks (Mutex, RWMutex, WaitGroup, Cond) with waiters. Enter opens an entry
// (its waiting goroutines; a cycle's path and evidence); f follows a
// channel's last hand-off to the goroutine that made it.
import type { ChannelJSON, DeadlockJSON, LockJSON } from '../src/analysis/json.ts';
import type { ChannelActivity, ChannelTouch } from '../src/model/probe.ts';
import { type GoroutineRow, type RowLookup, locationText } from '../src/model/rows.ts';
import { MAX_LISTED, type WaitExtras, allWaiters, channelWaiterCounts, deadlockSummary, lockModeCounts, lockName, targetText } from '../src/model/waits.ts';
import { fitLocation } from './GoroutineTable.tsx';
import { type ListLine, ListView } from './ListView.tsx';
import { blockedText, cell, count, duration, wrap } from './text.ts';

export const channelKey = (c: ChannelJSON): string => c.address;
const lockKey = (l: LockJSON): string => `lock ${l.address}`;
const deadlockKey = (d: DeadlockJSON): string => `deadlock ${d.goroutines.join(',')}`;

/** Address, then the label column (as wide as the terminal allows), then the figures. */
const FIXED = 14 + 1 + 1 + 9 + 1 + 6 + 1 + 5 + 1 + 5 + 2 + 8;
const labelWidth = (width: number): number => Math.max(14, width - FIXED);

export const channelTitle = (width: number): string =>
  `${cell('CHANNEL', 14)} ${cell('MADE AT, OR TYPE', labelWidth(width))} ${cell('LEN/CAP', 9, true)} ${cell('CLOSED', 6)} ${cell('SEND', 5, true)} ${cell('RECV', 5, true)}  LONGEST`;
export const lockTitle = (width: number): string =>
  `${cell('LOCK', 14)} ${cell('KIND', labelWidth(width))} ${cell('WAITING', 9, true)} ${cell('MODES', 15)}  LONGEST`;

/** Everything the wait view shows. */
export interface WaitData extends WaitExtras {
  readonly channels: readonly ChannelJSON[];
}

type Waiter = { goroutine: number; select: boolean; op: string };

function chanWaiters(c: ChannelJSON): Waiter[] {
  return [...c.senders.map((w) => ({ ...w, op: 'send' })), ...c.receivers.map((w) => ({ ...w, op: 'recv' }))];
}

/** The longest blocked of some goroutines, as the table shows it. */
function longest(goids: ArrayLike<number>, rows: RowLookup): string {
  let best: GoroutineRow | null = null;
  for (let k = 0; k < goids.length; k++) {
    const r = rows.get(goids[k]!);
    if (r?.blockedMs != null && (best === null || r.blockedMs > best.blockedMs!)) best = r;
  }
  return best === null ? '' : blockedText(best.blockedMs, best.blockedExact);
}

function waiterLine(w: Waiter, rows: RowLookup): string {
  const r = rows.get(w.goroutine);
  const op = `${w.op}${w.select ? ' (select)' : ''}`;
  if (r === undefined) return `    ${cell(op, 13)} goroutine ${w.goroutine}  (not in this snapshot)`;
  return `    ${cell(op, 13)} ${cell(`goroutine ${r.id}`, 18)} ${cell(r.state, 16)} ${cell(blockedText(r.blockedMs, r.blockedExact), 8, true)}  ${locationText(r.location)}`;
}

/** The first MAX_LISTED of `total` waiters (the worker sends no more: capWaiters). */
function waiterLines(ws: readonly Waiter[], total: number, rows: RowLookup, entry: number, out: ListLine[]): void {
  const listed = ws.slice(0, MAX_LISTED);
  for (const w of listed) out.push({ text: waiterLine(w, rows), kind: 'detail', entry });
  if (total > listed.length) out.push({ text: `    … and ${count(total - listed.length)} more`, kind: 'detail', entry });
}

const ago = (atNs: number, nowNs: number | null): string => (nowNs === null ? '' : ` ${duration(Math.max(0, (nowNs - atNs) / 1e6), true)} ago`);
const touch = (what: string, t: ChannelTouch | undefined, nowNs: number | null): string[] => (t ? [`${what} G${t.goid}${ago(t.atNs, nowNs)}`] : []);

/** What the probes saw, in parts: counts (≥ when chansend/chanrecv were not probed throughout), wakes, the last of each. */
function activityParts(a: ChannelActivity, nowNs: number | null): string[] {
  const parts: string[] = [];
  if (a.opsExact) parts.push(`${count(a.sends)} sends`, `${count(a.recvs)} recvs`);
  else if (a.sends + a.recvs > 0) parts.push(`≥${count(a.sends)} sends`, `≥${count(a.recvs)} recvs`);
  parts.push(`${count(a.wakes)} wake${a.wakes === 1 ? '' : 's'}`);
  parts.push(...touch('last send', a.lastSend, nowNs), ...touch('last recv', a.lastRecv, nowNs), ...touch('closed by', a.closed, nowNs));
  return parts;
}

export const activityText = (a: ChannelActivity, nowNs: number | null): string => activityParts(a, nowNs).join(' · ');

/** The activity under a channel, on as many lines as the width needs (parts are never split). */
function activityLines(a: ChannelActivity, nowNs: number | null, width: number): string[] {
  const indent = '    ';
  const out: string[] = [];
  let line = '';
  for (const part of activityParts(a, nowNs)) {
    if (line !== '' && indent.length + line.length + 3 + part.length > width) {
      out.push(indent + line);
      line = '';
    }
    line = line === '' ? part : `${line} · ${part}`;
  }
  if (line !== '') out.push(indent + line);
  return out;
}

function channelLabel(c: ChannelJSON, a: ChannelActivity | undefined, width: number): string {
  if (a?.made) return fitLocation(a.made.function, a.made.file, a.made.line, width);
  return cell(`chan ${c.elemType ?? '?'}`, width);
}

function channelDetails(c: ChannelJSON, a: ChannelActivity | undefined, d: WaitData, rows: RowLookup, width: number, entry: number, out: ListLine[]): void {
  const made = a?.made ? `, made by G${a.made.goid} at ${a.made.function} ${a.made.file}:${a.made.line}${ago(a.made.atNs, d.nowNs)}` : '';
  for (const t of wrap(`chan ${c.elemType ?? '?'}${made}`, width, '    ')) out.push({ text: t, kind: 'detail', entry });
  const n = channelWaiterCounts(c);
  waiterLines(chanWaiters(c), n.send + n.recv, rows, entry, out);
  if (c.truncated) out.push({ text: '    (more waiters than gtop reads)', kind: 'detail', entry });
  if (a?.lastWake) {
    const w = a.lastWake;
    out.push({ text: `    last hand-off: G${w.waker} woke G${w.woken}${ago(w.atNs, d.nowNs)}  (f: follow to G${w.waker})`, kind: 'detail', entry });
  }
}

function lockModes(l: LockJSON): string {
  return lockModeCounts(l).map(([mode, k]) => `${k} ${mode}`).join(', ');
}

function deadlockDetails(dl: DeadlockJSON, d: WaitData, width: number, entry: number, out: ListLine[]): void {
  const elem = elemTypes(d.channels);
  for (const s of dl.path) {
    // wakers: the goroutines of the cycle whose stacks reach the object (no goroutine that can run does); it cannot wake itself.
    const others = s.wakers.filter((g) => g !== s.goroutine);
    const by = others.length > 0 ? `; only the cycle's G${others.join(', G')} could wake it` : '';
    for (const t of wrap(`G${s.goroutine} waits on ${targetText(s.waitsOn, elem)}${by}`, width, '    ')) out.push({ text: t, kind: 'detail', entry });
  }
  out.push({ text: '    evidence:', kind: 'detail', entry });
  for (const e of dl.evidence) for (const t of wrap(e, width, '      ')) out.push({ text: t, kind: 'detail', entry });
}

function elemTypes(channels: readonly ChannelJSON[]): (address: string) => string | null {
  const m = new Map(channels.map((c) => [c.address, c.elemType]));
  return (address) => m.get(address) ?? null;
}

/** The entries of the wait view, in order: their keys, and where f goes from each (a goroutine, or why nowhere). */
export function waitEntries(d: WaitData): { keys: string[]; follow: (number | string)[] } {
  const keys: string[] = [];
  const follow: (number | string)[] = [];
  for (const dl of d.deadlocks) {
    keys.push(deadlockKey(dl));
    follow.push(dl.path[0]?.goroutine ?? 'no goroutine to follow');
  }
  for (const c of d.channels) {
    keys.push(channelKey(c));
    const w = d.activity(c.address)?.lastWake;
    follow.push(w ? w.waker : d.nowNs === null ? 'following a hand-off needs the probes (--probes light or full)' : `no hand-off seen on ${c.address} since the probes attached`);
  }
  for (const l of d.locks) {
    keys.push(lockKey(l));
    follow.push('f follows a channel\'s last hand-off; locks have none');
  }
  return { keys, follow };
}

/** The title line: what there is (it stays when the list scrolls). */
export function waitTitle(d: WaitData): string {
  const dl = d.deadlocksChecked === null ? '' : d.deadlocksChecked ? `${d.deadlocks.length} deadlock${d.deadlocks.length === 1 ? '' : 's'} · ` : 'deadlocks not checked · ';
  return `WAITS  ${dl}${count(d.channels.length)} channel${d.channels.length === 1 ? '' : 's'} · ${count(d.locks.length)} lock${d.locks.length === 1 ? '' : 's'} with waiters   Enter: open  f: follow`;
}

export function waitLines(d: WaitData, rows: RowLookup, open: string | null, width: number): ListLine[] {
  const out: ListLine[] = [];
  let entry = 0;
  const elem = elemTypes(d.channels);
  for (const dl of d.deadlocks) {
    out.push({ text: deadlockSummary(dl, elem), kind: 'alert', entry });
    if (deadlockKey(dl) === open) deadlockDetails(dl, d, width, entry, out);
    entry++;
  }
  if (d.deadlocksChecked === false) {
    out.push({ text: 'deadlock proof not run: over 10,000 goroutines or the heap could not be read (gtop --once --json --deadlocks runs it)', kind: 'note', entry: -1 });
  }
  const lw = labelWidth(width);
  out.push({ text: channelTitle(width), kind: 'heading', entry: -1 });
  if (d.channels.length === 0) out.push({ text: 'no channel has waiting goroutines', kind: 'note', entry: -1 });
  for (const c of d.channels) {
    const a = d.activity(c.address);
    const n = channelWaiterCounts(c);
    const text = `${cell(c.address, 14)} ${channelLabel(c, a, lw)} ${cell(`${c.len}/${c.cap}`, 9, true)} ${cell(c.closed ? 'closed' : '', 6)} ${cell(String(n.send), 5, true)} ${cell(String(n.recv), 5, true)}  ${longest(allWaiters(c), rows)}`;
    out.push({ text, kind: 'entry', entry });
    if (a) for (const t of activityLines(a, d.nowNs, width)) out.push({ text: t, kind: 'sub', entry });
    if (channelKey(c) === open) channelDetails(c, a, d, rows, width, entry, out);
    entry++;
  }
  if (d.locks.length > 0) {
    out.push({ text: '', kind: 'note', entry: -1 }, { text: lockTitle(width), kind: 'heading', entry: -1 });
  }
  for (const l of d.locks) {
    const all = allWaiters(l);
    out.push({ text: `${cell(l.address, 14)} ${cell(lockName(l.kind), lw)} ${cell(count(all.length), 9, true)} ${cell(lockModes(l), 15)}  ${longest(all, rows)}`, kind: 'entry', entry });
    if (lockKey(l) === open) waiterLines(l.waiters.map((w) => ({ goroutine: w.goroutine, select: false, op: w.mode })), all.length, rows, entry, out);
    entry++;
  }
  return out;
}

export interface ChannelViewProps {
  readonly data: WaitData;
  readonly rows: RowLookup;
  readonly cursor: number;
  readonly open: string | null;
  readonly height: number;
  readonly width: number;
  readonly color: boolean;
}

export function ChannelView(p: ChannelViewProps) {
  const lines = waitLines(p.data, p.rows, p.open, p.width);
  return <ListView title={waitTitle(p.data)} lines={lines} cursor={p.cursor} height={p.height} width={p.width} color={p.color} />;
}
