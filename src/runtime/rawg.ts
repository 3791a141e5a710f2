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
function word(b: Buffer, off: number): number {
  const v = b.readBigUInt64LE(off);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(v);
}

export function decodeG(b: Buffer, addr: number, layout: RuntimeLayout): RawG {
  const g = layout.g;
  return {
    addr,
    stackLo: word(b, g.stackLo),
    stackHi: word(b, g.stackHi),
    schedSp: word(b, g.schedSp),
    schedPc: word(b, g.schedPc),
    schedBp: word(b, g.schedBp),
    syscallsp: word(b, g.syscallsp),
    syscallpc: word(b, g.syscallpc),
    status: b.readUInt32LE(g.atomicstatus),
    goid: word(b, g.goid),
    waitsince: word(b, g.waitsince),
    waitreason: b.readUInt8(g.waitreason),
    lockedm: word(b, g.lockedm),
    parentGoid: g.parentGoid === undefined ? 0 : word(b, g.parentGoid),
    gopc: word(b, g.gopc),
    startpc: word(b, g.startpc),
    waiting: word(b, g.waiting),
    labels: word(b, g.labels),
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
  for (const v of [raw.stackLo, raw.stackHi, raw.schedSp, raw.schedPc, raw.syscallsp, raw.syscallpc, raw.gopc, raw.startpc, raw.labels, raw.waitsince]) {
    if (v < 0) return false;
  }
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
