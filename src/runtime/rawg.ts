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

/**
 * What must not have changed between a snapshot's two reads of a g (its
 * identity, status and the context its stack was walked from), hashed to 64
 * bits into out[2k], out[2k+1]: the second pass keeps 8 bytes per goroutine
 * rather than its whole first read (144 bytes: 14 MB at 100k goroutines).
 * Two multiply-xor lanes over the fields' raw words; a change going unseen
 * is a 2^-64 chance.
 */
export function fingerprintAt(b: Buffer, o: number, layout: RuntimeLayout, out: Uint32Array, k: number): void {
  const g = layout.g;
  const status = b.readUInt32LE(o + g.atomicstatus);
  let h1 = Math.imul(0x9747b28c ^ status, 0xcc9e2d51);
  let h2 = Math.imul(0x3c6ef372 ^ status, 0x1b873593);
  // Running or dead: no stack was walked, so identity and status are all that matter.
  const walked = (status & ~G_SCAN) !== 2 && (status & ~G_SCAN) !== 6;
  const words = walked ? FINGERPRINT_WALKED : FINGERPRINT_IDENTITY;
  const offs = fieldOffsets(layout);
  for (let w = 0; w < words; w++) {
    const v = b.readUInt32LE(o + offs[w]!);
    h1 = Math.imul(h1 ^ v, 0xcc9e2d51);
    h1 ^= h1 >>> 15;
    h2 = Math.imul(h2 ^ v, 0x1b873593);
    h2 ^= h2 >>> 13;
  }
  if (walked) {
    const r = b.readUInt8(o + g.waitreason);
    h1 = Math.imul(h1 ^ r, 0xcc9e2d51);
    h2 = Math.imul(h2 ^ r, 0x1b873593);
  }
  out[2 * k] = h1 >>> 0;
  out[2 * k + 1] = h2 >>> 0;
}

/** The 32-bit words fingerprintAt hashes: goid's two, then those of sched.sp/pc, syscallsp/pc and stack.lo/hi. */
const FINGERPRINT_IDENTITY = 2;
const FINGERPRINT_WALKED = 14;
const offsetsByLayout = new WeakMap<RuntimeLayout, Uint32Array>();

function fieldOffsets(layout: RuntimeLayout): Uint32Array {
  let offs = offsetsByLayout.get(layout);
  if (offs === undefined) {
    const g = layout.g;
    offs = Uint32Array.from([g.goid, g.schedSp, g.schedPc, g.syscallsp, g.syscallpc, g.stackLo, g.stackHi].flatMap((f) => [f, f + 4]));
    offsetsByLayout.set(layout, offs);
  }
  return offs;
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

