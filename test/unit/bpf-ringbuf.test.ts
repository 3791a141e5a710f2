// The ring-buffer walk over a simulated mapping: a data area of SIZE bytes
// mapped twice in a row, record headers as kernel/bpf/ringbuf.c writes them
// (u32 len with BUSY/DISCARD bits, u32 page offset, data padded to 8).
import test from 'ava';
import { BpfError } from '../../src/bpf/libbpf.ts';
import { consumeRecords } from '../../src/bpf/ringbuf.ts';

const SIZE = 64;
const BUSY = 0x80000000;
const DISCARD = 0x40000000;

class FakeRing {
  readonly buf = Buffer.alloc(2 * SIZE);
  readonly view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  producer: number;
  constructor(start = 0) {
    this.producer = start;
  }
  /** Writes one record at the producer position (both copies of the mapping), returns its position. */
  put(payload: number[], flags = 0): number {
    const pos = this.producer;
    const bytes = [0, 0, 0, 0, 0, 0, 0, 0, ...payload];
    const hdr = Buffer.alloc(4);
    hdr.writeUInt32LE((payload.length | flags) >>> 0);
    bytes.splice(0, 4, ...hdr);
    for (let i = 0; i < bytes.length; i++) {
      const off = (pos + i) % SIZE;
      this.buf[off] = bytes[i]!;
      this.buf[off + SIZE] = bytes[i]!;
    }
    this.producer += (payload.length + 8 + 7) & ~7;
    return pos;
  }
  setFlags(pos: number, len: number, flags: number): void {
    const off = pos % SIZE;
    this.buf.writeUInt32LE((len | flags) >>> 0, off);
    this.buf.writeUInt32LE((len | flags) >>> 0, off + SIZE);
  }
}

function collect(r: FakeRing, consumer: number, max = 100) {
  const got: number[][] = [];
  const res = consumeRecords(r.view, SIZE - 1, consumer, r.producer, max, (v, off, len) => {
    got.push(Array.from({ length: len }, (_, i) => v.getUint8(off + i)));
  });
  return { ...res, got };
}

test('committed records in order, padded to 8 bytes', (t) => {
  const r = new FakeRing();
  r.put([1, 2, 3]);
  r.put([4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const res = collect(r, 0);
  t.deepEqual(res.got, [[1, 2, 3], [4, 5, 6, 7, 8, 9, 10, 11, 12]]);
  t.is(res.consumer, 16 + 24);
  t.is(res.consumer, r.producer);
  t.false(res.busy);
});

test('stops at a busy record and resumes there once committed', (t) => {
  const r = new FakeRing();
  r.put([1]);
  const busyAt = r.put([2, 2], BUSY);
  r.put([3]);
  const first = collect(r, 0);
  t.deepEqual(first.got, [[1]]);
  t.true(first.busy);
  t.is(first.consumer, busyAt);
  r.setFlags(busyAt, 2, 0);
  const second = collect(r, first.consumer);
  t.deepEqual(second.got, [[2, 2], [3]]);
  t.is(second.consumer, r.producer);
});

test('discarded records are skipped and counted', (t) => {
  const r = new FakeRing();
  r.put([1]);
  r.put([9, 9, 9], DISCARD);
  r.put([2]);
  const res = collect(r, 0);
  t.deepEqual(res.got, [[1], [2]]);
  t.is(res.discarded, 1);
  t.is(res.records, 2);
});

test('a record that wraps the end of the data area reads contiguously', (t) => {
  // Start near the end: 48 + header 8 + 12 bytes crosses 64.
  const r = new FakeRing(48);
  r.put([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  r.put([13]);
  const res = collect(r, 48);
  t.deepEqual(res.got, [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [13]]);
  t.is(res.consumer, r.producer);
});

test('at most `max` records per call', (t) => {
  const r = new FakeRing();
  for (let i = 0; i < 4; i++) r.put([i]);
  const a = collect(r, 0, 3);
  t.is(a.records, 3);
  t.is(a.consumer, 3 * 16);
  const b = collect(r, a.consumer, 3);
  t.deepEqual(b.got, [[3]]);
});

test('a length beyond the data area is corruption: BpfError, no hang', (t) => {
  const r = new FakeRing();
  const pos = r.put([1]);
  r.setFlags(pos, 0x3fff0000, 0);
  t.throws(() => collect(r, 0), { instanceOf: BpfError });
  t.deepEqual(collect(new FakeRing(), 0).got, []);
});
