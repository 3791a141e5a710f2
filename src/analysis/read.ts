// Defensive reads of runtime structures in a target that keeps running:
// every pointer is checked before use, every walk is bounded, and a read that
// fails because memory moved under us is an answer ("unreadable"), not an
// exception. Only a dead process throws.
import { GtopError, MemoryReadError } from '../errors.ts';
import { ProcessGoneError, type TargetMemory } from '../target/memory.ts';

/** User-space addresses on linux/amd64 are below 2^47. */
export const MAX_USER_ADDR = 2 ** 47;

export function isPointer(v: number): boolean {
  return v >= 0x1000 && v < MAX_USER_ADDR && v % 8 === 0;
}

/** Little-endian u64 as a number; garbage ≥ 2^53 comes back as -1 (never a valid pointer). */
export function word(b: Buffer, off: number): number {
  const hi = b.readUInt32LE(off + 4);
  return hi >= 0x200000 ? -1 : hi * 0x100000000 + b.readUInt32LE(off);
}

/** `len` bytes at `addr` through the cache, or undefined if unmapped. The process dying still throws. */
export function readStruct(mem: TargetMemory, addr: number, len: number): Buffer | undefined {
  if (!(addr >= 0x1000 && addr + len <= MAX_USER_ADDR)) return undefined;
  try {
    return mem.cached(addr, len);
  } catch (err) {
    if (err instanceof MemoryReadError && !(err instanceof ProcessGoneError)) return undefined;
    throw err;
  }
}

/**
 * Like readStruct without allocating, for hot loops: the cache's own buffer
 * with `addr` at `mem.refOffset`. Use it before the next read.
 */
export function readRef(mem: TargetMemory, addr: number, len: number): Buffer | undefined {
  if (!(addr >= 0x1000 && addr + len <= MAX_USER_ADDR)) return undefined;
  try {
    return mem.cachedRef(addr, len);
  } catch (err) {
    if (err instanceof MemoryReadError && !(err instanceof ProcessGoneError)) return undefined;
    throw err;
  }
}

/** Runs `f`; the target exiting meanwhile becomes the same GtopError a snapshot gives. */
export function whileAlive<T>(pid: number, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof ProcessGoneError) throw new GtopError('process-gone', `process ${pid} exited while gtop was reading it`, { cause: err });
    throw err;
  }
}
