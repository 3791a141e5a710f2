// Channels from memory: the sudogs a waiting goroutine hangs on g.waiting
// (one for a channel operation, one per case for a select, chained through
// waitlink; chan.go, select.go), and the channel itself: len, cap, closed,
// element type, and the goroutines queued in recvq/sendq.
import type { TargetMemory } from '../target/memory.ts';
import type { AnalysisLayout } from './layout.ts';
import type { Channel } from './model.ts';
import { isPointer, readRef, readStruct, word } from './read.ts';
import type { TypeNames } from './typename.ts';

/** A select has at most 65536 cases (select.go); a channel queue this long is garbage. */
const MAX_SELECT_CASES = 1 << 16;
const MAX_QUEUE = 1 << 20;

export interface WaitingSudog {
  addr: number;
  /** sudog.c: the channel (0 for semaphore and Cond waits on Go 1.26). */
  c: number;
  /** sudog.elem: the value slot, or on 1.26 the semaphore / notifyList address. */
  elem: number;
  isSelect: boolean;
}

/** The sudogs on g.waiting, in order; a string says why they could not be read. */
export function readWaitingSudogs(mem: TargetMemory, L: AnalysisLayout, gAddr: number, first: number, max = MAX_SELECT_CASES): WaitingSudog[] | string {
  const out: WaitingSudog[] = [];
  // Only a select has more than one: no set for the common case.
  let seen: Set<number> | undefined;
  for (let s = first; s !== 0; ) {
    if (out.length >= max) break;
    if (out.length > 0) {
      seen ??= new Set(out.map((x) => x.addr));
      if (seen.has(s)) return 'g.waiting list loops';
      seen.add(s);
    }
    const b = readRef(mem, s, L.sudog.size);
    if (!b) return `sudog 0x${s.toString(16)} is unreadable`;
    const o = mem.refOffset;
    // A sudog is recycled once its goroutine wakes: it must still be ours.
    if (word(b, o + L.sudog.g) !== gAddr) return 'the goroutine woke while being read';
    out.push({ addr: s, c: word(b, o + L.sudog.c), elem: word(b, o + L.sudog.elem), isSelect: b[o + L.sudog.isSelect] !== 0 });
    s = word(b, o + L.sudog.waitlink);
    if (s !== 0 && !isPointer(s)) return 'g.waiting list is torn';
  }
  return out;
}

export interface ChannelRead {
  channel: Channel;
  /** sudog address → direction, for tying select cases to a direction. */
  queued: Map<number, 'send' | 'receive'>;
  /** Queued goroutines that are not in the snapshot (created since). */
  unknownWaiters: number;
}

/** Reads the hchan at `addr`; undefined when it is not readable as one. */
export function readChannel(
  mem: TargetMemory, L: AnalysisLayout, addr: number, types: TypeNames, goidOf: (gAddr: number) => number | undefined,
): ChannelRead | undefined {
  const view = readStruct(mem, addr, L.hchan.size);
  if (!view) return undefined;
  // Our own copy: the queue walks below load many chunks, and the cache recycles them.
  const b = Buffer.from(view);
  const len = word(b, L.hchan.qcount);
  const cap = word(b, L.hchan.dataqsiz);
  const sendx = word(b, L.hchan.sendx);
  const recvx = word(b, L.hchan.recvx);
  const closed = b.readUInt32LE(L.hchan.closed);
  // Invariants of every live hchan (chan.go): a torn or reused one fails them.
  if (len < 0 || cap < 0 || len > cap || closed > 1 || (cap > 0 && (sendx >= cap || recvx >= cap)) || (cap === 0 && (sendx !== 0 || recvx !== 0))) return undefined;
  const elemtype = word(b, L.hchan.elemtype);
  const channel: Channel = {
    addr, elemType: isPointer(elemtype) ? types.name(elemtype, mem) : null, elemSize: b.readUInt16LE(L.hchan.elemsize),
    len, cap, closed: closed !== 0, sendx, recvx, senders: [], receivers: [], truncated: false,
  };
  const queued = new Map<number, 'send' | 'receive'>();
  let unknownWaiters = 0;
  for (const [dir, off, list] of [['receive', L.hchan.recvq, channel.receivers], ['send', L.hchan.sendq, channel.senders]] as const) {
    const walk = walkQueue(mem, L, addr, word(b, off + L.waitq.first));
    channel.truncated ||= walk.truncated;
    for (const w of walk.waiters) {
      queued.set(w.sudog, dir);
      const goid = goidOf(w.g);
      if (goid === undefined) unknownWaiters++;
      else list.push({ goid, select: w.isSelect });
    }
  }
  return { channel, queued, unknownWaiters };
}

interface Queued { sudog: number; g: number; isSelect: boolean }

function walkQueue(mem: TargetMemory, L: AnalysisLayout, chan: number, first: number): { waiters: Queued[]; truncated: boolean } {
  const waiters: Queued[] = [];
  const seen = new Set<number>();
  for (let s = first; s !== 0; ) {
    if (!isPointer(s) || seen.has(s) || waiters.length >= MAX_QUEUE) return { waiters, truncated: true };
    seen.add(s);
    const b = readRef(mem, s, L.sudog.size);
    const o = mem.refOffset;
    // Every sudog of a channel queue points back at its channel.
    if (!b || word(b, o + L.sudog.c) !== chan) return { waiters, truncated: true };
    waiters.push({ sudog: s, g: word(b, o + L.sudog.g), isSelect: b[o + L.sudog.isSelect] !== 0 });
    s = word(b, o + L.sudog.next);
  }
  return { waiters, truncated: false };
}
