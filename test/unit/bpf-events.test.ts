// Decoding ring-buffer records and encoding the config, on hand-built bytes
// laid out by the offsets that bpf-abi.test.ts checks against bpf/gtop.h.
import test from 'ava';
import { EVENT_KIND, EventDecoder, LAYOUT, NO_REASON, decodeChanStats, decodeGState, encodeConfig } from '../../src/bpf/events.ts';

function record(kind: number, size: number, fill: (b: Buffer) => void): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt16LE(kind, LAYOUT.header.kind);
  b.writeUInt16LE(3, LAYOUT.header.site);
  b.writeUInt32LE(4242, LAYOUT.header.tid);
  b.writeBigUInt64LE(1_234_567_890_123n, LAYOUT.header.ts);
  b.writeBigUInt64LE(77n, LAYOUT.header.goid);
  fill(b);
  return b;
}

test('decodes every kind with its fields', (t) => {
  const d = new EventDecoder();
  const base = { site: 3, tid: 4242, ts: 1_234_567_890_123, goid: 77 };
  const park = record(EVENT_KIND.park, LAYOUT.park.size, (b) => {
    b.writeBigUInt64LE(0xc000123068n, LAYOUT.park.lock);
    b.writeInt32LE(-17, LAYOUT.park.stack_id);
    b.writeUInt8(19, LAYOUT.park.reason);
  });
  t.deepEqual(d.decodeBuffer(park), { kind: 'park', ...base, lock: 0xc000123068, stackId: -17, reason: 19 });
  const ready = record(EVENT_KIND.ready, LAYOUT.ready.size, (b) => {
    b.writeBigUInt64LE(12n, LAYOUT.ready.waker);
    b.writeBigUInt64LE(500_000_123n, LAYOUT.ready.parked_ns);
  });
  t.deepEqual(d.decodeBuffer(ready), { kind: 'ready', ...base, waker: 12, parkedNs: 500_000_123 });
  const create = record(EVENT_KIND.create, LAYOUT.create.size, (b) => {
    b.writeBigUInt64LE(1n, LAYOUT.create.parent);
    b.writeBigUInt64LE(0x4a3a11n, LAYOUT.create.gopc);
    b.writeBigUInt64LE(0x7fff_ffff_f000n, LAYOUT.create.startpc);
  });
  t.deepEqual(d.decodeBuffer(create), { kind: 'create', ...base, parent: 1, gopc: 0x4a3a11, startpc: 0x7fff_ffff_f000 });
  const exit = record(EVENT_KIND.exit, LAYOUT.exit.size, (b) => b.writeBigUInt64LE(2n ** 40n, LAYOUT.exit.lifetime_ns));
  t.deepEqual(d.decodeBuffer(exit), { kind: 'exit', ...base, lifetimeNs: 2 ** 40 });
  const mk = record(EVENT_KIND.makechan, LAYOUT.makechan.size, (b) => {
    b.writeBigUInt64LE(0x1fb844a1a070n, LAYOUT.makechan.chan);
    b.writeBigUInt64LE(0x4a37dcn, LAYOUT.makechan.caller_pc);
  });
  t.deepEqual(d.decodeBuffer(mk), { kind: 'makechan', ...base, chan: 0x1fb844a1a070, callerPc: 0x4a37dc });
  t.is(d.decoded, 5);
  t.is(d.short + d.unknown, 0);
});

test('short and unknown records are counted and dropped, never thrown', (t) => {
  const d = new EventDecoder();
  t.is(d.decodeBuffer(Buffer.alloc(0)), undefined);
  t.is(d.decodeBuffer(Buffer.alloc(LAYOUT.header.size - 1)), undefined);
  // A park header without its body.
  t.is(d.decodeBuffer(record(EVENT_KIND.park, LAYOUT.header.size, () => {})), undefined);
  t.is(d.short, 3);
  t.is(d.decodeBuffer(record(0, 64, () => {})), undefined);
  t.is(d.decodeBuffer(record(99, 64, () => {})), undefined);
  t.is(d.unknown, 2);
  t.is(d.decoded, 0);
  // Longer than the struct (a newer BPF object with more fields): decoded.
  t.like(d.decodeBuffer(record(EVENT_KIND.exit, 64, () => {})), { kind: 'exit', goid: 77 });
});

test('decode at an offset reads only its own bytes', (t) => {
  const d = new EventDecoder();
  const rec = record(EVENT_KIND.exit, LAYOUT.exit.size, () => {});
  const buf = Buffer.concat([Buffer.alloc(16, 0xff), rec]);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  t.like(d.decode(v, 16, rec.length), { kind: 'exit', goid: 77 });
  // A length that runs past the view is short, not a RangeError.
  t.is(d.decode(v, 16, rec.length + 8), undefined);
});

test('gstate map values', (t) => {
  const b = Buffer.alloc(LAYOUT.gstate.size);
  b.writeBigUInt64LE(100n, LAYOUT.gstate.since);
  b.writeBigUInt64LE(50n, LAYOUT.gstate.created);
  b.writeBigUInt64LE(0xc000010068n, LAYOUT.gstate.lock);
  b.writeInt32LE(7, LAYOUT.gstate.stack_id);
  b.writeUInt8(2, LAYOUT.gstate.status);
  b.writeUInt8(14, LAYOUT.gstate.reason);
  t.deepEqual(decodeGState(b), { status: 'parked', since: 100, created: 50, lock: 0xc000010068, stackId: 7, reason: 14 });
  t.is(decodeGState(b.subarray(0, 8)), undefined);
});

test('config bytes: offsets, flag and the emit mask by kind number', (t) => {
  const chan = { off_hchan_lock: 104, reason_chan_send: 20, reason_chan_recv: -1 };
  const b = encodeConfig({ off_g_goid: 152, off_g_m: 48, off_m_curg: 184, off_g_gopc: 288, off_g_startpc: 304, park_stacks: true, ...chan, emit: ['park', 'makechan'] });
  t.is(b.length, LAYOUT.config.size);
  t.is(b.readUInt32LE(LAYOUT.config.off_g_goid), 152);
  t.is(b.readUInt32LE(LAYOUT.config.off_g_m), 48);
  t.is(b.readUInt32LE(LAYOUT.config.off_m_curg), 184);
  t.is(b.readUInt32LE(LAYOUT.config.off_g_gopc), 288);
  t.is(b.readUInt32LE(LAYOUT.config.off_g_startpc), 304);
  t.is(b.readUInt32LE(LAYOUT.config.park_stacks), 1);
  t.is(b.readBigUInt64LE(LAYOUT.config.emit_mask), (1n << 1n) | (1n << 5n));
  t.is(b.readUInt32LE(LAYOUT.config.off_hchan_lock), 104);
  t.is(b.readUInt8(LAYOUT.config.reason_chan_send), 20);
  // A reason the binary does not have becomes GTOP_NO_REASON, never a real reason number.
  t.is(b.readUInt8(LAYOUT.config.reason_chan_recv), NO_REASON);
  // An offset of 0 (an unresolved field) would make the programs read garbage.
  t.throws(() => encodeConfig({ off_g_goid: 0, off_g_m: 48, off_m_curg: 184, off_g_gopc: 288, off_g_startpc: 304, park_stacks: false, ...chan, emit: [] }), { instanceOf: RangeError });
});

test('chan_stats value: every u64 field by its offset', (t) => {
  const L = LAYOUT.chanStats;
  const b = Buffer.alloc(L.size);
  const names = ['made_ts', 'made_goid', 'made_pc', 'sends', 'recvs', 'parks', 'wakes', 'last_send_ts', 'last_send_goid', 'last_recv_ts',
    'last_recv_goid', 'last_wake_ts', 'last_wake_waker', 'last_wake_woken', 'closed_ts', 'closed_goid'] as const;
  names.forEach((n, i) => b.writeBigUInt64LE(BigInt(1000 + i), L[n]));
  b.writeBigUInt64LE(0xc000123456n, L.made_pc);
  const s = decodeChanStats(b)!;
  t.like(s, { madeTs: 1000, madeGoid: 1001, madePc: 0xc000123456, sends: 1003, recvs: 1004, parks: 1005, wakes: 1006, lastWakeWoken: 1013, closedGoid: 1015 });
  t.is(decodeChanStats(b.subarray(0, 64)), undefined);
});
