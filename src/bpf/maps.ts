// Reads of the BPF maps of bpf/gtop.bpf.c through their fds: per-CPU arrays
// summed over CPUs (one batch syscall), plain lookups by key.
import { constants } from 'node:os';
import { BpfError, libbpf } from './libbpf.ts';

let cpus: number | undefined;

/** libbpf_num_possible_cpus(): the per-CPU value count the kernel copies out. */
export function possibleCpus(): number {
  if (cpus === undefined) {
    const n = libbpf().f.num_cpus() as number;
    if (n <= 0) throw new BpfError('count possible CPUs', -n || constants.errno.EINVAL);
    cpus = n;
  }
  return cpus;
}

/** Sums of the first `n` u64 slots of a BPF_MAP_TYPE_PERCPU_ARRAY over all CPUs. */
export function readPercpuU64Array(fd: number, n: number, what: string): number[] {
  const ncpu = possibleCpus();
  const keys = Buffer.alloc(4 * n);
  const values = Buffer.alloc(8 * ncpu * n);
  const outBatch = Buffer.alloc(4);
  const count = [n];
  const ret = libbpf().f.lookup_batch(fd, null, outBatch, keys, values, count, null) as number;
  // -ENOENT with a full count just means "no more entries after these".
  if (ret < 0 && -ret !== constants.errno.ENOENT) throw new BpfError(`read ${what}`, -ret);
  const got = Math.min(count[0] ?? 0, n);
  const sums = new Array<number>(n).fill(0);
  for (let i = 0; i < got; i++) {
    const key = keys.readUInt32LE(4 * i);
    if (key >= n) continue;
    let s = 0;
    for (let c = 0; c < ncpu; c++) {
      const o = 8 * (i * ncpu + c);
      s += values.readUInt32LE(o) + values.readUInt32LE(o + 4) * 0x1_0000_0000;
    }
    sums[key] = s;
  }
  return sums;
}

/**
 * Every entry of a hash map with u64 keys, a batch of `chunk` entries per
 * syscall (one lookup per key costs ~2 µs: 0.2 s for 100k goroutines).
 */
export function dumpU64Hash(fd: number, valueSize: number, maxEntries: number, what: string, chunk = 4096): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  const keys = Buffer.alloc(8 * chunk);
  const values = Buffer.alloc(valueSize * chunk);
  let inBatch: Buffer | null = null;
  // The kernel's batch token is a bucket index; 8 bytes covers it.
  for (let rounds = 0; rounds <= maxEntries / chunk + 1; rounds++) {
    const outBatch = Buffer.alloc(8);
    const count = [chunk];
    const ret = libbpf().f.lookup_batch(fd, inBatch, outBatch, keys, values, count, null) as number;
    if (ret < 0 && -ret !== constants.errno.ENOENT) throw new BpfError(`read ${what}`, -ret);
    const got = Math.min(count[0] ?? 0, chunk);
    for (let i = 0; i < got; i++) {
      const key = keys.readUInt32LE(8 * i) + keys.readUInt32LE(8 * i + 4) * 0x1_0000_0000;
      out.set(key, Buffer.from(values.subarray(valueSize * i, valueSize * (i + 1))));
    }
    if (ret < 0) break; // ENOENT: that was the last batch
    inBatch = outBatch;
  }
  return out;
}

/** Value of `key` in a plain (not per-CPU) map, or undefined when absent. */
export function lookup(fd: number, key: Buffer, valueSize: number, what: string): Buffer | undefined {
  const value = Buffer.alloc(valueSize);
  const ret = libbpf().f.lookup_elem(fd, key, value) as number;
  if (ret === -constants.errno.ENOENT) return undefined;
  if (ret < 0) throw new BpfError(`read ${what}`, -ret);
  return value;
}

export function u64Key(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}

export function u32Key(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}
