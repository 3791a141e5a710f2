// Decoder of the ring-buffer records of bpf/gtop.bpf.c and encoder of its
// config: the byte offsets below mirror bpf/gtop.h (checked against it by
// test/unit/bpf-events.test.ts). Records are untrusted bytes: a short or
// unknown record is counted and dropped, never thrown.

/** struct layouts of bpf/gtop.h: byte offsets and sizes. */
export const LAYOUT = {
  header: { size: 24, kind: 0, site: 2, tid: 4, ts: 8, goid: 16 },
  park: { size: 40, lock: 24, stack_id: 32, reason: 36 },
  ready: { size: 40, waker: 24, parked_ns: 32 },
  create: { size: 48, parent: 24, gopc: 32, startpc: 40 },
  exit: { size: 32, lifetime_ns: 24 },
  makechan: { size: 40, chan: 24, caller_pc: 32 },
  gstate: { size: 32, since: 0, created: 8, lock: 16, stack_id: 24, status: 28, reason: 29 },
  chanStats: {
    size: 128, made_ts: 0, made_goid: 8, made_pc: 16, sends: 24, recvs: 32, parks: 40, wakes: 48, last_send_ts: 56, last_send_goid: 64,
    last_recv_ts: 72, last_recv_goid: 80, last_wake_ts: 88, last_wake_waker: 96, last_wake_woken: 104, closed_ts: 112, closed_goid: 120,
  },
  config: {
    size: 40, off_g_goid: 0, off_g_m: 4, off_m_curg: 8, off_g_gopc: 12, off_g_startpc: 16, park_stacks: 20, emit_mask: 24,
    off_hchan_lock: 32, reason_chan_send: 36, reason_chan_recv: 37,
  },
} as const;

/** enum gtop_event_kind */
export const EVENT_KIND = { park: 1, ready: 2, create: 3, exit: 4, makechan: 5 } as const;
export type EventKind = keyof typeof EVENT_KIND;
export const EVENT_KINDS = Object.keys(EVENT_KIND) as EventKind[];

/** enum gtop_counter (indexes 1..5 count events by kind) */
export const COUNTER = { drops: 8, readErrors: 9, noCurg: 10, stackErrors: 11 } as const;
export const COUNTER_SLOTS = 16;
/** GTOP_MAX_SITES, GTOP_HIST_SLOTS, GTOP_MAX_REASONS, GTOP_STACK_DEPTH */
export const MAX_SITES = 64;
export const HIST_SLOTS = 64;
export const MAX_REASONS = 256;
export const STACK_DEPTH = 64;
/** GTOP_NO_REASON: the binary has no such wait reason. */
export const NO_REASON = 255;

/** enum gtop_gstatus */
export const GSTATUS = { 1: 'running', 2: 'parked', 3: 'runnable' } as const;

interface Base {
  /** CLOCK_MONOTONIC ns (bpf_ktime_get_ns). */
  ts: number;
  goid: number;
  /** Kernel thread id. */
  tid: number;
  /** Probe site index (see ProbeSession.sites()). */
  site: number;
}
export interface ParkEvent extends Base { kind: 'park'; reason: number; lock: number; stackId: number }
export interface ReadyEvent extends Base { kind: 'ready'; waker: number; parkedNs: number }
export interface CreateEvent extends Base { kind: 'create'; parent: number; gopc: number; startpc: number }
export interface ExitEvent extends Base { kind: 'exit'; lifetimeNs: number }
export interface MakechanEvent extends Base { kind: 'makechan'; chan: number; callerPc: number }
export type BpfEvent = ParkEvent | ReadyEvent | CreateEvent | ExitEvent | MakechanEvent;

export interface GState {
  status: 'running' | 'parked' | 'runnable' | 'unknown';
  since: number;
  created: number;
  lock: number;
  stackId: number;
  reason: number;
}

/** struct gtop_chan_stats: ts fields are CLOCK_MONOTONIC ns, 0 = never. */
export interface ChanStats {
  madeTs: number; madeGoid: number; madePc: number;
  sends: number; recvs: number; parks: number; wakes: number;
  lastSendTs: number; lastSendGoid: number; lastRecvTs: number; lastRecvGoid: number;
  lastWakeTs: number; lastWakeWaker: number; lastWakeWoken: number;
  closedTs: number; closedGoid: number;
}

export interface GtopConfig {
  off_g_goid: number;
  off_g_m: number;
  off_m_curg: number;
  off_g_gopc: number;
  off_g_startpc: number;
  park_stacks: boolean;
  /** offsetof(hchan, lock): gopark's lock minus this is the channel. */
  off_hchan_lock: number;
  /** waitReason numbers of "chan send" and "chan receive" (NO_REASON when absent). */
  reason_chan_send: number;
  reason_chan_recv: number;
  /** Kinds sent to the ring buffer (all are counted regardless). */
  emit: readonly EventKind[];
}

const SIZE_BY_KIND: Record<number, number> = {
  [EVENT_KIND.park]: LAYOUT.park.size, [EVENT_KIND.ready]: LAYOUT.ready.size, [EVENT_KIND.create]: LAYOUT.create.size,
  [EVENT_KIND.exit]: LAYOUT.exit.size, [EVENT_KIND.makechan]: LAYOUT.makechan.size,
};

const { header: H, park: PARK, ready: READY, create: CREATE, exit: EXIT, makechan: MAKECHAN } = LAYOUT;

/** u64 as a number: goids, ns timestamps and user addresses stay below 2^53. */
function u64(v: DataView, o: number): number {
  return v.getUint32(o, true) + v.getUint32(o + 4, true) * 0x1_0000_0000;
}

export class EventDecoder {
  decoded = 0;
  /** Records shorter than their kind's struct. */
  short = 0;
  /** Records of a kind this build does not know. */
  unknown = 0;

  /** Decodes the record at v[off, off + len); undefined (and counted) when malformed. */
  decode(v: DataView, off: number, len: number): BpfEvent | undefined {
    if (len < LAYOUT.header.size || off + len > v.byteLength) {
      this.short++;
      return undefined;
    }
    const kind = v.getUint16(off, true);
    const size = SIZE_BY_KIND[kind];
    if (size === undefined) {
      this.unknown++;
      return undefined;
    }
    if (len < size) {
      this.short++;
      return undefined;
    }
    this.decoded++;
    // Literal objects per kind (no spread): this runs for every event.
    const site = v.getUint16(off + H.site, true), tid = v.getUint32(off + H.tid, true), ts = u64(v, off + H.ts), goid = u64(v, off + H.goid);
    switch (kind) {
      case EVENT_KIND.park:
        return { kind: 'park', site, tid, ts, goid, lock: u64(v, off + PARK.lock), stackId: v.getInt32(off + PARK.stack_id, true), reason: v.getUint8(off + PARK.reason) };
      case EVENT_KIND.ready:
        return { kind: 'ready', site, tid, ts, goid, waker: u64(v, off + READY.waker), parkedNs: u64(v, off + READY.parked_ns) };
      case EVENT_KIND.create:
        return { kind: 'create', site, tid, ts, goid, parent: u64(v, off + CREATE.parent), gopc: u64(v, off + CREATE.gopc), startpc: u64(v, off + CREATE.startpc) };
      case EVENT_KIND.exit:
        return { kind: 'exit', site, tid, ts, goid, lifetimeNs: u64(v, off + EXIT.lifetime_ns) };
      default:
        return { kind: 'makechan', site, tid, ts, goid, chan: u64(v, off + MAKECHAN.chan), callerPc: u64(v, off + MAKECHAN.caller_pc) };
    }
  }

  /** Convenience for whole-buffer records (tests, captured data). */
  decodeBuffer(b: Buffer): BpfEvent | undefined {
    return this.decode(new DataView(b.buffer, b.byteOffset, b.byteLength), 0, b.byteLength);
  }
}

/** struct gtop_gstate from a map value. */
export function decodeGState(b: Buffer): GState | undefined {
  const g = LAYOUT.gstate;
  if (b.length < g.size) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const status = GSTATUS[v.getUint8(g.status) as keyof typeof GSTATUS] ?? 'unknown';
  return { status, since: u64(v, g.since), created: u64(v, g.created), lock: u64(v, g.lock), stackId: v.getInt32(g.stack_id, true), reason: v.getUint8(g.reason) };
}

/** struct gtop_chan_stats from a map value. */
export function decodeChanStats(b: Buffer): ChanStats | undefined {
  const L = LAYOUT.chanStats;
  if (b.length < L.size) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    madeTs: u64(v, L.made_ts), madeGoid: u64(v, L.made_goid), madePc: u64(v, L.made_pc),
    sends: u64(v, L.sends), recvs: u64(v, L.recvs), parks: u64(v, L.parks), wakes: u64(v, L.wakes),
    lastSendTs: u64(v, L.last_send_ts), lastSendGoid: u64(v, L.last_send_goid), lastRecvTs: u64(v, L.last_recv_ts), lastRecvGoid: u64(v, L.last_recv_goid),
    lastWakeTs: u64(v, L.last_wake_ts), lastWakeWaker: u64(v, L.last_wake_waker), lastWakeWoken: u64(v, L.last_wake_woken),
    closedTs: u64(v, L.closed_ts), closedGoid: u64(v, L.closed_goid),
  };
}

/** struct gtop_config as the bytes of the .rodata map. */
export function encodeConfig(c: GtopConfig): Buffer {
  const L = LAYOUT.config;
  const b = Buffer.alloc(L.size);
  for (const k of ['off_g_goid', 'off_g_m', 'off_m_curg', 'off_g_gopc', 'off_g_startpc'] as const) {
    const v = c[k];
    if (!Number.isInteger(v) || v <= 0 || v > 0xffff) throw new RangeError(`gtop config ${k} = ${v} is not a plausible struct offset`);
    b.writeUInt32LE(v, L[k]);
  }
  b.writeUInt32LE(c.park_stacks ? 1 : 0, L.park_stacks);
  let mask = 0n;
  for (const k of c.emit) mask |= 1n << BigInt(EVENT_KIND[k]);
  b.writeBigUInt64LE(mask, L.emit_mask);
  // 0 disables the channel bookkeeping (no plausible hchan has lock at 0).
  const lockOff = Number.isInteger(c.off_hchan_lock) && c.off_hchan_lock > 0 && c.off_hchan_lock <= 0xffff ? c.off_hchan_lock : 0;
  b.writeUInt32LE(lockOff, L.off_hchan_lock);
  for (const k of ['reason_chan_send', 'reason_chan_recv'] as const) {
    const r = c[k];
    b.writeUInt8(Number.isInteger(r) && r >= 0 && r < NO_REASON ? r : NO_REASON, L[k]);
  }
  return b;
}
