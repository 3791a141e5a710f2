// Consumer of a BPF_MAP_TYPE_RINGBUF, mapped into this process directly
// (kernel/bpf/ringbuf.c layout): page 0 = consumer position (ours, RW),
// page 1 = producer position (RO), then the data area mapped twice in a row
// so a record that wraps is still contiguous. Records are parsed in JS, a
// bounded number per call; libbpf's ring_buffer__poll with koffi callbacks
// stalled the event loop and lost most events, so it is not used.
import { constants } from 'node:os';
import koffi from 'koffi';
import { BpfError, libbpf, pageSize, type Pointer } from './libbpf.ts';

// include/uapi/linux/bpf.h
const BUSY_BIT = 0x80000000;
const DISCARD_BIT = 0x40000000;
const HDR_SIZE = 8;

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MAP_FAILED = 0xffffffffffffffffn;

/** Receives one committed record: its bytes are data[offset, offset + length). */
export type RecordSink = (data: DataView, offset: number, length: number) => void;

export interface ConsumeResult {
  /** New consumer position. */
  consumer: number;
  /** Records handed to the sink. */
  records: number;
  /** Records the producer discarded (skipped). */
  discarded: number;
  /** True when a record was still being written (busy) and the walk stopped there. */
  busy: boolean;
}

/**
 * Walks the records in [consumer, producer) of a data area of `mask + 1`
 * bytes that `data` maps twice, handing at most `max` of them to `sink`.
 * Pure (no syscalls), so tests can run it over a plain buffer.
 */
export function consumeRecords(data: DataView, mask: number, consumer: number, producer: number, max: number, sink: RecordSink): ConsumeResult {
  const hdr = new Int32Array(data.buffer, data.byteOffset, data.byteLength >> 2);
  let records = 0;
  let discarded = 0;
  let pos = consumer;
  while (pos < producer && records < max) {
    const off = pos & mask;
    // Atomic load: the kernel clears BUSY with a release store after writing the record.
    const word = Atomics.load(hdr, off >> 2) >>> 0;
    if (word & BUSY_BIT) return { consumer: pos, records, discarded, busy: true };
    const len = word & ~(BUSY_BIT | DISCARD_BIT);
    const total = (len + HDR_SIZE + 7) & ~7;
    if (total > mask + 1 || pos + total > producer) {
      throw new BpfError(`read ring buffer record at ${pos} (length ${len}, producer ${producer})`, constants.errno.EIO);
    }
    if (word & DISCARD_BIT) discarded++;
    else {
      sink(data, off + HDR_SIZE, len);
      records++;
    }
    pos += total;
  }
  return { consumer: pos, records, discarded, busy: false };
}

export class RingBuffer {
  private readonly page: number;
  private readonly size: number;
  private consPtr: Pointer | undefined;
  private prodPtr: Pointer | undefined;
  private consPos: BigUint64Array | undefined;
  private prodPos: BigUint64Array | undefined;
  private data: DataView | undefined;
  private consumer: number;
  /** Records skipped because the producer discarded them. */
  discarded = 0;

  private constructor(page: number, size: number) {
    this.page = page;
    this.size = size;
    this.consumer = 0;
  }

  /** Maps the ring buffer behind `fd` (a map of `size` bytes: max_entries). */
  static open(fd: number, size: number): RingBuffer {
    const page = pageSize();
    if (size < page || (size & (size - 1)) !== 0) throw new BpfError(`map ring buffer of ${size} bytes (not a power of 2 ≥ page)`, constants.errno.EINVAL);
    const rb = new RingBuffer(page, size);
    try {
      rb.consPtr = mmap(page, PROT_READ | PROT_WRITE, fd, 0, 'map ring buffer consumer page');
      rb.prodPtr = mmap(page + 2 * size, PROT_READ, fd, page, 'map ring buffer data');
      rb.consPos = new BigUint64Array(koffi.view(rb.consPtr, page), 0, 1);
      const prod = koffi.view(rb.prodPtr, page + 2 * size);
      rb.prodPos = new BigUint64Array(prod, 0, 1);
      rb.data = new DataView(prod, page, 2 * size);
      rb.consumer = Number(Atomics.load(rb.consPos, 0));
    } catch (err) {
      rb.close();
      throw err;
    }
    return rb;
  }

  /** Bytes written by the producer and not consumed yet. */
  pending(): number {
    if (!this.prodPos) return 0;
    return Number(Atomics.load(this.prodPos, 0)) - this.consumer;
  }

  /** Hands up to `max` committed records to `sink`; returns how many. */
  consume(max: number, sink: RecordSink): number {
    if (!this.data || !this.prodPos || !this.consPos) return 0;
    const producer = Number(Atomics.load(this.prodPos, 0));
    if (producer === this.consumer) return 0;
    const r = consumeRecords(this.data, this.size - 1, this.consumer, producer, max, sink);
    this.discarded += r.discarded;
    if (r.consumer !== this.consumer) {
      this.consumer = r.consumer;
      // Frees the space for the producer; only after the sink has read the records.
      Atomics.store(this.consPos, 0, BigInt(r.consumer));
    }
    return r.records;
  }

  /** Unmaps; idempotent. Views into the mapping must not be used afterwards. */
  close(): void {
    this.data = undefined;
    this.prodPos = undefined;
    this.consPos = undefined;
    const { f } = libbpf();
    if (this.prodPtr) f.munmap(this.prodPtr, this.page + 2 * this.size);
    if (this.consPtr) f.munmap(this.consPtr, this.page);
    this.prodPtr = undefined;
    this.consPtr = undefined;
  }
}

function mmap(length: number, prot: number, fd: number, offset: number, step: string): Pointer {
  const p = libbpf().f.mmap(null, length, prot, MAP_SHARED, fd, offset) as Pointer | null;
  if (p === null || koffi.address(p) === MAP_FAILED) throw new BpfError(step, koffi.errno() || constants.errno.ENOMEM);
  return p;
}
