// The fields of runtime.g that a snapshot needs, decoded from one read of the
// whole struct, and the checks that tell a real G from a torn or recycled one.
import type { RuntimeLayout } from './layout.ts';
import { G_SCAN } from './goroutine.ts';

export interface RawG {
  addr: number;
  stackLo: number;
  stackHi: number;
  schedSp: number;
  schedPc: number;
  schedBp: number;
  syscallsp: number;
  syscallpc: number;
  status: number;
  goid: number;
  waitsince: number;
  waitreason: number;
  lockedm: number;
  parentGoid: number;
  gopc: number;
  startpc: number;
  waiting: number;
  labels: number;
}

// Values that do not fit a double are garbage for our purposes: map them to
// an impossible address so validation rejects the G instead of throwing.
// Two u32 reads: BigInt would dominate a 100k-goroutine snapshot.
function word(b: Buffer, off: number): number {
  const hi = b.readUInt32LE(off + 4);
  return hi >= 0x200000 ? -1 : hi * 0x100000000 + b.readUInt32LE(off);
}

/** Decodes the g at `addr` from `b`, where it starts at offset `o` (the caller's cache buffer). */
export function decodeG(b: Buffer, o: number, addr: number, layout: RuntimeLayout): RawG {
  const g = layout.g;
  return {
    addr,
    stackLo: word(b, o + g.stackLo),
    stackHi: word(b, o + g.stackHi),
    schedSp: word(b, o + g.schedSp),
    schedPc: word(b, o + g.schedPc),
    schedBp: word(b, o + g.schedBp),
    syscallsp: word(b, o + g.syscallsp),
    syscallpc: word(b, o + g.syscallpc),
    status: b.readUInt32LE(o + g.atomicstatus),
    goid: word(b, o + g.goid),
    waitsince: word(b, o + g.waitsince),
    waitreason: b.readUInt8(o + g.waitreason),
    lockedm: word(b, o + g.lockedm),
    parentGoid: g.parentGoid === undefined ? 0 : word(b, o + g.parentGoid),
    gopc: word(b, o + g.gopc),
    startpc: word(b, o + g.startpc),
    waiting: word(b, o + g.waiting),
    labels: word(b, o + g.labels),
  };
}

const MAX_STACK = 1 << 30; // the runtime's default max stack is 1 GB

/** Plausible as a live or dead G of this Go version (a torn read usually is not). */
export function validateG(raw: RawG, goMinor: number): boolean {
  const status = raw.status & ~G_SCAN;
  if ((raw.status & ~(G_SCAN | 0xf)) !== 0) return false;
  if (status > (goMinor >= 26 ? 11 : 9)) return false;
  if (status === 6 || status === 11) return true; // dead: nothing else is meaningful
  if (raw.goid <= 0) return false;
  if (raw.stackLo < 0 || raw.stackHi < 0 || raw.schedSp < 0 || raw.schedPc < 0 || raw.syscallsp < 0 || raw.syscallpc < 0 ||
    raw.gopc < 0 || raw.startpc < 0 || raw.labels < 0 || raw.waitsince < 0) return false;
  if (raw.stackHi <= raw.stackLo || raw.stackHi - raw.stackLo > MAX_STACK) return false;
  const sp = raw.syscallsp !== 0 ? raw.syscallsp : raw.schedSp;
  if (status !== 2 && sp !== 0 && (sp < raw.stackLo || sp > raw.stackHi)) return false;
  return true;
}

/** Same goroutine in the same place: nothing a stack walk depends on changed. */
export function sameG(a: RawG, b: RawG): boolean {
  if (a.goid !== b.goid || a.status !== b.status) return false;
  if ((a.status & ~G_SCAN) === 2) return true; // running: we do not walk its stack
  return a.schedSp === b.schedSp && a.schedPc === b.schedPc && a.syscallsp === b.syscallsp && a.syscallpc === b.syscallpc &&
    a.stackLo === b.stackLo && a.stackHi === b.stackHi && a.waitreason === b.waitreason;
}

/**
 * sameG against a fresh read, straight from the cache buffer: the second
 * pass over 100k goroutines must not allocate a RawG per goroutine.
 */
export function unchangedAt(b: Buffer, o: number, a: RawG, layout: RuntimeLayout): boolean {
  const g = layout.g;
  if (word(b, o + g.goid) !== a.goid || b.readUInt32LE(o + g.atomicstatus) !== a.status) return false;
  if ((a.status & ~G_SCAN) === 2 || (a.status & ~G_SCAN) === 6) return true; // running or dead: no stack was walked
  return word(b, o + g.schedSp) === a.schedSp && word(b, o + g.schedPc) === a.schedPc &&
    word(b, o + g.syscallsp) === a.syscallsp && word(b, o + g.syscallpc) === a.syscallpc &&
    word(b, o + g.stackLo) === a.stackLo && word(b, o + g.stackHi) === a.stackHi && b.readUInt8(o + g.waitreason) === a.waitreason;
}
