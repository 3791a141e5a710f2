// Runs mutated binaries through every reader gtop applies to an executable.
// A case passes when the readers either succeed or throw a GtopError with a
// one-line message; anything else (RangeError, TypeError, a hang) is a bug.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { analyzeBinary } from '../../src/binary/index.ts';
import { GtopError } from '../../src/errors.ts';

interface Job { path: string; seed: number; cases: number }
export interface CaseFailure { seed: number; index: number; mutation: string; error: string }

const job = workerData as Job;
const base = readFileSync(job.path);

// A small deterministic PRNG (mulberry32): a failure is reproducible from seed + index.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Regions worth aiming at: where each reader starts trusting the bytes.
function regions(): { name: string; start: number; end: number }[] {
  const out = [{ name: 'file', start: 0, end: base.length }, { name: 'elf-header', start: 0, end: 64 }];
  const phoff = Number(base.readBigUInt64LE(32));
  out.push({ name: 'program-headers', start: phoff, end: phoff + 56 * base.readUInt16LE(56) });
  const shoff = Number(base.readBigUInt64LE(40));
  const shnum = base.readUInt16LE(60);
  out.push({ name: 'section-headers', start: shoff, end: shoff + 64 * shnum });
  const strtab = shoff + 64 * base.readUInt16LE(62);
  const stroff = Number(base.readBigUInt64LE(strtab + 24));
  for (let i = 0; i < shnum; i++) {
    const h = shoff + 64 * i;
    const name = base.toString('latin1', stroff + base.readUInt32LE(h), base.indexOf(0, stroff + base.readUInt32LE(h)));
    const off = Number(base.readBigUInt64LE(h + 24));
    const size = Number(base.readBigUInt64LE(h + 32));
    if (/gopclntab|buildinfo|debug_info|debug_abbrev|noptrdata|go\.module|^\.data$|^\.text$|rela/.test(name) && size > 0 && base.readUInt32LE(h + 4) !== 8) {
      out.push({ name, start: off, end: off + size });
    }
  }
  return out;
}

function mutate(r: () => number, regs: ReturnType<typeof regions>): { data: Buffer; what: string } {
  const reg = regs[Math.floor(r() * regs.length)]!;
  const pick = (): number => reg.start + Math.floor(r() * Math.max(1, reg.end - reg.start));
  const op = r();
  if (op < 0.15) {
    const len = pick();
    return { data: Buffer.from(base.subarray(0, len)), what: `truncate at ${len} (in ${reg.name})` };
  }
  const data = Buffer.from(base);
  if (op < 0.6) {
    const n = 1 + Math.floor(r() * 8);
    for (let i = 0; i < n; i++) {
      const at = pick();
      if (at < data.length) data[at]! ^= 1 << Math.floor(r() * 8);
    }
    return { data, what: `flip ${n} bits in ${reg.name}` };
  }
  const at = pick() & ~3;
  const values = [0, 0xffffffff, 0x7fffffff, 0x80000000, Math.floor(r() * 0x100000000), 1, 0xfffffff1];
  const v = values[Math.floor(r() * values.length)]!;
  if (at + 4 <= data.length) data.writeUInt32LE(v >>> 0, at);
  return { data, what: `write 0x${v.toString(16)} at ${at} in ${reg.name}` };
}

function exercise(data: Buffer, r: () => number): void {
  const bin = analyzeBinary(data, 'mutant');
  const text = bin.elf.section('.text');
  for (let i = 0; i < 40 && text; i++) {
    const pc = text.addr + Math.floor(r() * text.size);
    const fn = bin.pclntab.funcForPC(pc);
    if (!fn) continue;
    bin.pclntab.frames(fn, pc);
    bin.pclntab.fileLine(fn, pc);
    bin.pclntab.spDelta(fn, pc);
  }
  bin.pclntab.funcByName('main.main');
}

const regs = regions();
const failures: CaseFailure[] = [];
let accepted = 0;
let rejected = 0;
for (let index = 0; index < job.cases; index++) {
  const r = rng(job.seed * 100_003 + index);
  const { data, what } = mutate(r, regs);
  parentPort!.postMessage({ type: 'start', index, what });
  try {
    exercise(data, r);
    accepted++;
  } catch (err) {
    if (err instanceof GtopError && err.message.length > 0 && !err.message.includes('\n')) rejected++;
    else failures.push({ seed: job.seed, index, mutation: what, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
}
parentPort!.postMessage({ type: 'done', failures, accepted, rejected });
