// Reads of the target's memory through /proc/PID/mem (one pread per call,
// ~3 µs each, so the chunk cache is what makes a snapshot fast). The fd is
// opened read-only: gtop never writes to the target.
import { closeSync, openSync, readSync } from 'node:fs';
import { GtopError, MemoryReadError } from '../errors.ts';
import { PF_EXITING, readStat } from './process.ts';

/** The target exited (or its PID now belongs to another process): nothing more can be read. */
export class ProcessGoneError extends MemoryReadError {
  readonly gone = true;
  constructor(addr: number, message: string, options?: { cause?: unknown }) {
    super(addr, message, options);
    this.name = 'ProcessGoneError';
  }
}

export interface MemoryOptions {
  /** Cache chunk size, a power of two ≥ 4096 (default 64 KiB). */
  chunkSize?: number;
  /** Cached bytes kept before the oldest chunks are dropped (default 256 MiB). */
  maxCacheBytes?: number;
}

const PAGE = 4096;
// Evicted chunk buffers wait this many chunk loads before reuse (see chunk()).
const QUARANTINE = 64;
// No single read of runtime data is this large; a bigger one comes from a garbage length.
const MAX_READ = 256 << 20;
// Addresses must stay exact as JS numbers and valid as a pread offset.
const MAX_ADDR = Number.MAX_SAFE_INTEGER;

/** A cached chunk; `missing` lists the page indexes that could not be read (unmapped). */
interface Chunk { data: Buffer; missing: Set<number> | undefined }

export class TargetMemory {
  readonly pid: number;
  readCount = 0;
  /** Offset of the last cachedRef() address in the buffer it returned. */
  refOffset = 0;
  private fd: number | undefined;
  private readonly startTime: number | undefined;
  private readonly chunkSize: number;
  private readonly maxChunks: number;
  private readonly chunks = new Map<number, Chunk>();
  // Chunk buffers are recycled across invalidate(): a 100k-goroutine snapshot
  // reads hundreds of MB and fresh buffers would make the GC the bottleneck.
  private readonly pool: Buffer[] = [];
  private readonly quarantine: Buffer[] = [];

  constructor(pid: number, opts: MemoryOptions = {}) {
    this.pid = pid;
    this.chunkSize = opts.chunkSize ?? 64 << 10;
    if (this.chunkSize < PAGE || (this.chunkSize & (this.chunkSize - 1)) !== 0) throw new Error(`chunk size ${this.chunkSize} is not a power of two ≥ ${PAGE}`);
    this.maxChunks = Math.max(1, Math.floor((opts.maxCacheBytes ?? 256 << 20) / this.chunkSize));
    this.startTime = readStat(pid)?.startTime;
    try {
      this.fd = openSync(`/proc/${pid}/mem`, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') throw new GtopError('permission', `cannot read /proc/${pid}/mem: run gtop as root (or with CAP_SYS_PTRACE)`, { cause: err });
      if (code === 'ENOENT' || code === 'ESRCH') throw new GtopError('process-gone', `process ${pid} has exited`, { cause: err });
      throw err;
    }
  }

  /** Exactly `len` bytes at `addr`; throws MemoryReadError (ProcessGoneError once the process is gone), never partial data. */
  read(addr: number, len: number): Buffer {
    checkRange(addr, len);
    const buf = Buffer.allocUnsafe(len);
    const got = this.pread(buf, addr);
    if (got < len) throw this.failure(addr + got, `cannot read ${len} bytes at 0x${addr.toString(16)}: 0x${(addr + got).toString(16)} is not mapped`);
    return buf;
  }

  /** Like read, but undefined for unmapped memory. A gone process still throws: that is never expected. */
  tryRead(addr: number, len: number): Buffer | undefined {
    try {
      return this.read(addr, len);
    } catch (err) {
      if (err instanceof MemoryReadError && !(err instanceof ProcessGoneError)) return undefined;
      throw err;
    }
  }

  /**
   * `len` bytes at `addr` through the chunk cache: one consistent pass reads
   * each chunk once; call invalidate() before the next pass. The result may
   * share memory with the cache: do not modify it, and do not keep it past
   * invalidate() or many further reads: the cache recycles its buffers.
   */
  cached(addr: number, len: number): Buffer {
    checkRange(addr, len);
    if (len === 0) return Buffer.alloc(0);
    const mask = this.chunkSize - 1;
    const first = addr - (addr & mask);
    if (addr + len <= first + this.chunkSize) return this.slice(first, addr, len);
    const out = Buffer.allocUnsafe(len);
    for (let base = first, done = 0; done < len; base += this.chunkSize) {
      const from = Math.max(addr, base);
      const n = Math.min(addr + len, base + this.chunkSize) - from;
      this.slice(base, from, n).copy(out, done);
      done += n;
    }
    return out;
  }

  /**
   * Like cached(), without allocating: returns the cache's own buffer and
   * leaves the offset of `addr` in it in `refOffset`. For hot decoders only;
   * the buffer is reused after invalidate().
   */
  cachedRef(addr: number, len: number): Buffer {
    checkRange(addr, len);
    const mask = this.chunkSize - 1;
    const base = addr - (addr & mask);
    if (len > 0 && addr + len <= base + this.chunkSize) {
      const chunk = this.chunk(base);
      if (chunk.missing) this.slice(base, addr, len); // throws for an unmapped page
      this.refOffset = addr - base;
      return chunk.data;
    }
    this.refOffset = 0;
    return this.cached(addr, len);
  }

  /** Unsigned 64-bit value via the cache; values ≥ 2^53 (never a valid address) come back as -1. */
  u64(addr: number): number {
    const buf = this.cachedRef(addr, 8);
    const hi = buf.readUInt32LE(this.refOffset + 4);
    return hi >= 0x200000 ? -1 : hi * 0x100000000 + buf.readUInt32LE(this.refOffset);
  }

  u32(addr: number): number {
    return this.cached(addr, 4).readUInt32LE(0);
  }

  u8(addr: number): number {
    return this.cached(addr, 1)[0]!;
  }

  invalidate(): void {
    for (const c of this.chunks.values()) if (this.pool.length < this.maxChunks) this.pool.push(c.data);
    this.chunks.clear();
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    this.chunks.clear();
  }

  private slice(base: number, addr: number, len: number): Buffer {
    const chunk = this.chunk(base);
    const off = addr - base;
    if (chunk.missing) {
      for (let p = Math.floor(off / PAGE); p * PAGE < off + len; p++) {
        if (chunk.missing.has(p)) {
          const bad = Math.max(addr, base + p * PAGE);
          throw this.failure(bad, `cannot read ${len} bytes at 0x${addr.toString(16)}: 0x${bad.toString(16)} is not mapped`);
        }
      }
    }
    return chunk.data.subarray(off, off + len);
  }

  private chunk(base: number): Chunk {
    const hit = this.chunks.get(base);
    if (hit) return hit;
    const data = this.pool.pop() ?? Buffer.allocUnsafe(this.chunkSize);
    let got = this.pread(data, base);
    let missing: Set<number> | undefined;
    if (got < this.chunkSize) {
      // Partly mapped: keep what is readable, page by page.
      missing = new Set();
      got -= got % PAGE;
      for (let p = got / PAGE; p < this.chunkSize / PAGE; p++) {
        const page = data.subarray(p * PAGE, (p + 1) * PAGE);
        if (this.pread(page, base + p * PAGE) < PAGE) missing.add(p);
      }
      if (missing.size === this.chunkSize / PAGE && !this.alive()) throw this.gone(base);
    }
    if (this.chunks.size >= this.maxChunks) {
      // FIFO eviction. The buffer is recycled only after QUARANTINE more
      // chunk loads, so a view a caller still holds stays intact that long;
      // without recycling, a 100k-goroutine pass would leave hundreds of MB
      // of garbage and the GC would dominate.
      const oldest = this.chunks.keys().next().value!;
      this.quarantine.push(this.chunks.get(oldest)!.data);
      this.chunks.delete(oldest);
      if (this.quarantine.length > QUARANTINE) this.pool.push(this.quarantine.shift()!);
    }
    const chunk = { data, missing };
    this.chunks.set(base, chunk);
    return chunk;
  }

  /** Fills `buf` from `addr` as far as memory is mapped; returns the byte count read. */
  private pread(buf: Buffer, addr: number): number {
    if (this.fd === undefined) throw new Error(`memory of process ${this.pid} is closed`);
    let done = 0;
    while (done < buf.length) {
      let n: number;
      this.readCount++;
      try {
        n = readSync(this.fd, buf, done, buf.length - done, addr + done);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EIO' || code === 'EFAULT') break;
        if (code === 'ESRCH') throw this.gone(addr + done, err);
        throw new MemoryReadError(addr + done, `reading process ${this.pid} memory at 0x${(addr + done).toString(16)}: ${code ?? err}`, { cause: err });
      }
      // 0 bytes: the address space is gone (exited) or the read hit a hole.
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  private failure(addr: number, message: string): MemoryReadError {
    return this.alive() ? new MemoryReadError(addr, message) : this.gone(addr);
  }

  private gone(addr: number, cause?: unknown): ProcessGoneError {
    return new ProcessGoneError(addr, `process ${this.pid} has exited`, { cause });
  }

  private alive(): boolean {
    const st = readStat(this.pid);
    // An exiting process (SIGKILL in progress) loses its memory before it becomes a zombie.
    return !!st && st.startTime === this.startTime && st.state !== 'Z' && st.state !== 'X' && (st.flags & PF_EXITING) === 0;
  }
}

function checkRange(addr: number, len: number): void {
  if (!Number.isSafeInteger(addr) || addr < 0 || addr > MAX_ADDR) throw new MemoryReadError(Number(addr) || 0, `invalid address ${addr}`);
  if (!Number.isSafeInteger(len) || len < 0 || len > MAX_READ) throw new MemoryReadError(addr, `implausible read of ${len} bytes at 0x${addr.toString(16)}`);
  if (addr + len > MAX_ADDR) throw new MemoryReadError(addr, `read of ${len} bytes at 0x${addr.toString(16)} overflows the address space`);
}
