/** @jsxRuntime automatic @jsxImportSource react */
// The channel view (c): every channel goroutines wait on, most waiters first,
// with its buffer, whether it is closed, its senders and receivers and the
// longest BLOCKED among them; Enter lists the waiting goroutines.
import type { ChannelJSON } from '../src/analysis/json.ts';
import { type GoroutineRow, locationText } from '../src/model/rows.ts';
import { type ListLine, ListView } from './ListView.tsx';
import { blockedText, cell } from './text.ts';

export const CHANNEL_TITLE = `${cell('CHANNEL', 14)} ${cell('ELEMENT', 20)} ${cell('LEN/CAP', 9, true)} ${cell('CLOSED', 6)} ${cell('SEND', 5, true)} ${cell('RECV', 5, true)}  LONGEST BLOCKED`;

export const channelKey = (c: ChannelJSON): string => c.address;

const MAX_WAITERS = 1000;

type Waiter = { goroutine: number; select: boolean; op: 'send' | 'recv' };

function waiters(c: ChannelJSON): Waiter[] {
  return [...c.senders.map((w) => ({ ...w, op: 'send' as const })), ...c.receivers.map((w) => ({ ...w, op: 'recv' as const }))];
}

/** The longest blocked of the channel's waiters, as the table shows it. */
function longest(c: ChannelJSON, rows: ReadonlyMap<number, GoroutineRow>): string {
  let best: GoroutineRow | null = null;
  for (const w of waiters(c)) {
    const r = rows.get(w.goroutine);
    if (r?.blockedMs != null && (best === null || r.blockedMs > best.blockedMs!)) best = r;
  }
  return best === null ? '' : blockedText(best.blockedMs, best.blockedExact);
}

function waiterLine(w: Waiter, rows: ReadonlyMap<number, GoroutineRow>): string {
  const r = rows.get(w.goroutine);
  const op = `${w.op}${w.select ? ' (select)' : ''}`;
  if (r === undefined) return `    ${cell(op, 13)} goroutine ${w.goroutine}  (not in this snapshot)`;
  return `    ${cell(op, 13)} ${cell(`goroutine ${r.id}`, 18)} ${cell(r.state, 14)} ${cell(blockedText(r.blockedMs, r.blockedExact), 8, true)}  ${locationText(r.location)}`;
}

export function channelLines(channels: readonly ChannelJSON[], rows: ReadonlyMap<number, GoroutineRow>, open: string | null): ListLine[] {
  if (channels.length === 0) return [{ text: 'no channel has waiting goroutines', kind: 'note', entry: -1 }];
  const out: ListLine[] = [];
  channels.forEach((c, i) => {
    const text = `${cell(c.address, 14)} ${cell(c.elemType ?? '?', 20)} ${cell(`${c.len}/${c.cap}`, 9, true)} ${cell(c.closed ? 'closed' : '', 6)} ${cell(String(c.senders.length), 5, true)} ${cell(String(c.receivers.length), 5, true)}  ${longest(c, rows)}`;
    out.push({ text, kind: 'entry', entry: i });
    if (channelKey(c) !== open) return;
    const ws = waiters(c);
    // Lines are built per render: a channel with 100k waiters lists the first thousand.
    for (const w of ws.slice(0, MAX_WAITERS)) out.push({ text: waiterLine(w, rows), kind: 'detail', entry: i });
    if (ws.length > MAX_WAITERS) out.push({ text: `    … and ${(ws.length - MAX_WAITERS).toLocaleString('en-US')} more`, kind: 'detail', entry: i });
    if (c.truncated) out.push({ text: '    (more waiters than gtop reads)', kind: 'detail', entry: i });
  });
  return out;
}

export interface ChannelViewProps {
  readonly channels: readonly ChannelJSON[];
  readonly rows: ReadonlyMap<number, GoroutineRow>;
  readonly cursor: number;
  readonly open: string | null;
  readonly height: number;
  readonly width: number;
  readonly color: boolean;
}

export function ChannelView(p: ChannelViewProps) {
  const lines = channelLines(p.channels, p.rows, p.open);
  return <ListView title={CHANNEL_TITLE} lines={lines} cursor={p.cursor} height={p.height} width={p.width} color={p.color} />;
}
