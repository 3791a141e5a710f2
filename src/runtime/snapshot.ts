// One consistent-enough list of every goroutine, read from a running process
// without stopping it. The runtime keeps running while we read, so every
// goroutine is read twice (seqlock style: header, stack, header again) and
// re-read when the two disagree. Reads go through a chunk cache so 100k
// goroutines cost a few thousand syscalls, not a few hundred thousand.
import type { BinaryInfo } from '../binary/index.ts';
import { MemoryReadError } from '../errors.ts';
import { ProcessGoneError, type TargetMemory } from '../target/memory.ts';
import type { GoroutineSink, SnapshotHeader } from './compact.ts';
import { type Goroutine, type Snapshot, G_COPYSTACK, G_DEAD, G_DEADEXTRA, G_LEAKED, G_RUNNING, G_SCAN, G_SYSCALL, G_WAITING, STATUS_NAMES } from './goroutine.ts';
import { readLabels } from './labels.ts';
import { type RawG, decodeG, fingerprintAt, sameG, validateG } from './rawg.ts';
import { Symbolizer } from './symbolize.ts';
import { Unwinder } from './unwind.ts';

const MAX_ALLGLEN = 50_000_000;
const MAX_RETRIES = 4;

export interface SnapshotContext {
  pid: number;
  exe: string;
  bin: BinaryInfo;
  /** Stacks and everything else: dense, read in large chunks. */
  mem: TargetMemory;
  /** g structs: sparse in the heap (a few per span), read in page-sized chunks. */
  gmem: TargetMemory;
  bias: number;
}

/** Per binary and load bias: caches that outlive one snapshot. */
interface Tools {
  sym: Symbolizer;
  unwinder: Unwinder;
  pcs: number[];
}
const toolsByBinary = new WeakMap<BinaryInfo, Map<number, Tools>>();

function toolsFor(bin: BinaryInfo, bias: number): Tools {
  let byBias = toolsByBinary.get(bin);
  if (!byBias) toolsByBinary.set(bin, (byBias = new Map()));
  let t = byBias.get(bias);
  if (!t) byBias.set(bias, (t = { sym: new Symbolizer(bin.pclntab, bin.layout, bias), unwinder: new Unwinder(bin.pclntab, bias), pcs: [] }));
  return t;
}

export function takeSnapshot(ctx: SnapshotContext): Snapshot {
  let found: (Goroutine | undefined)[] = [];
  const header = readGoroutines(ctx, (n) => {
    found = new Array<Goroutine | undefined>(n);
    return { put: (i, g) => void (found[i] = g), drop: (i) => void (found[i] = undefined) };
  });
  const goroutines: Goroutine[] = [];
  for (const g of found) if (g) goroutines.push(g);
  return { ...header, goroutines };
}

/**
 * Reads every goroutine into a sink made for the number of g pointers in
 * allgs, by their index there. A sink that keeps columns (compact.ts
 * ColumnWriter) lets each Goroutine object die young: 100k of them are ~19
 * MB that would otherwise all be alive at the end of the read.
 */
export function readGoroutines(ctx: SnapshotContext, makeSink: (n: number) => GoroutineSink): SnapshotHeader {
  const started = performance.now();
  const reads0 = readCount(ctx);
  const takenAt = new Date();
  const nowNs = Number(process.hrtime.bigint()); // CLOCK_MONOTONIC, the clock of the runtime's nanotime
  const gptrs = readAllgs(ctx);
  const tools = toolsFor(ctx.bin, ctx.bias);
  const sink = makeSink(gptrs.length);

  invalidate(ctx);
  // Everything is read in address order so each cache chunk is read once per
  // pass whatever the cache size (allgs order scatters across the heap). The
  // first pass goes in batches of g's: each batch is read whole, then built
  // in the order of its stacks (stacks are read through a cache too). Of the
  // first read, the second pass needs only a fingerprint.
  const n = gptrs.length;
  const byAddr = Uint32Array.from(gptrs.keys()).sort((a, b) => gptrs[a]! - gptrs[b]!);
  const prints = new Uint32Array(2 * n);
  const read = new Uint8Array(n);
  const first = new FirstReads(Math.min(n, BATCH));
  const order = new Uint32Array(Math.min(n, BATCH));
  for (let from = 0; from < n; from += BATCH) {
    const size = Math.min(BATCH, n - from);
    for (let k = 0; k < size; k++) {
      const i = byAddr[from + k]!;
      first.set(k, readG(ctx, gptrs[i]!, prints, i));
      if (first.has(k)) read[i] = 1;
    }
    const batch = order.subarray(0, size);
    for (let k = 0; k < size; k++) batch[k] = k;
    batch.sort((a, b) => first.stackLo(a) - first.stackLo(b));
    for (const k of batch) {
      const g = first.has(k) ? buildGoroutine(ctx, tools, first.get(k), nowNs) : undefined;
      if (g) sink.put(byAddr[from + k]!, g);
    }
  }

  // Second pass on fresh memory: anything that moved is read again on its own.
  invalidate(ctx);
  let unreadable = 0;
  const stable = new Uint8Array(n);
  for (const i of byAddr) stable[i] = read[i] === 1 && unchanged(ctx, gptrs[i]!, prints, i) ? 1 : 0;
  for (let i = 0; i < n; i++) {
    if (stable[i] === 1) continue;
    const settled = retry(ctx, tools, gptrs[i]!, nowNs);
    let g: Goroutine | undefined;
    if (settled === 'unstable') {
      unreadable++;
      const again = readG(ctx, gptrs[i]!);
      g = again && isLive(again) ? { ...buildHeader(ctx, tools.sym, again, nowNs), stackError: 'goroutine changed on every read; stack not captured' } : undefined;
    } else if (settled !== 'gone') g = settled;
    if (g) sink.put(i, g);
    else sink.drop(i);
  }
  invalidate(ctx);
  return {
    pid: ctx.pid,
    exe: ctx.exe,
    goVersion: ctx.bin.build.goVersion,
    module: ctx.bin.build.module ?? null,
    takenAt,
    durationMs: performance.now() - started,
    reads: readCount(ctx) - reads0,
    unreadable,
  };
}

const FIELDS = 18;

/** Scratch for the second pass's fingerprints. */
const NOW = new Uint32Array(2);

/** G's read before their stacks are walked: the first reads kept at once (18 doubles each). */
const BATCH = 8192;

/** RawGs by index in one Float64Array; get() fills one reused RawG (valid until the next get). */
class FirstReads {
  private readonly v: Float64Array;
  private readonly present: Uint8Array;
  private readonly raw: RawG = {
    addr: 0, stackLo: 0, stackHi: 0, schedSp: 0, schedPc: 0, schedBp: 0, syscallsp: 0, syscallpc: 0, status: 0,
    goid: 0, waitsince: 0, waitreason: 0, lockedm: 0, parentGoid: 0, gopc: 0, startpc: 0, waiting: 0, labels: 0,
  };

  constructor(n: number) {
    this.v = new Float64Array(n * FIELDS);
    this.present = new Uint8Array(n);
  }

  has(i: number): boolean {
    return this.present[i] === 1;
  }

  stackLo(i: number): number {
    return this.v[i * FIELDS + 1]!;
  }

  set(i: number, r: RawG | undefined): void {
    // Reused batch to batch: an absent read must clear what the slot held.
    this.present[i] = r === undefined ? 0 : 1;
    if (r === undefined) return;
    const v = this.v;
    const o = i * FIELDS;
    v[o] = r.addr; v[o + 1] = r.stackLo; v[o + 2] = r.stackHi; v[o + 3] = r.schedSp; v[o + 4] = r.schedPc; v[o + 5] = r.schedBp;
    v[o + 6] = r.syscallsp; v[o + 7] = r.syscallpc; v[o + 8] = r.status; v[o + 9] = r.goid; v[o + 10] = r.waitsince; v[o + 11] = r.waitreason;
    v[o + 12] = r.lockedm; v[o + 13] = r.parentGoid; v[o + 14] = r.gopc; v[o + 15] = r.startpc; v[o + 16] = r.waiting; v[o + 17] = r.labels;
  }

  get(i: number): RawG {
    const v = this.v;
    const o = i * FIELDS;
    const r = this.raw;
    r.addr = v[o]!; r.stackLo = v[o + 1]!; r.stackHi = v[o + 2]!; r.schedSp = v[o + 3]!; r.schedPc = v[o + 4]!; r.schedBp = v[o + 5]!;
    r.syscallsp = v[o + 6]!; r.syscallpc = v[o + 7]!; r.status = v[o + 8]!; r.goid = v[o + 9]!; r.waitsince = v[o + 10]!; r.waitreason = v[o + 11]!;
    r.lockedm = v[o + 12]!; r.parentGoid = v[o + 13]!; r.gopc = v[o + 14]!; r.startpc = v[o + 15]!; r.waiting = v[o + 16]!; r.labels = v[o + 17]!;
    return r;
  }
}

/** allglen first, then allgptr (the runtime stores them in the other order), then check allgptr did not move. */
function readAllgs(ctx: SnapshotContext): number[] {
  const { mem, bin, bias } = ctx;
  for (let attempt = 0; attempt < MAX_RETRIES * 2; attempt++) {
    const len = mem.read(bin.globals.allglen + bias, 8).readBigUInt64LE(0);
    const ptr = Number(mem.read(bin.globals.allgptr + bias, 8).readBigUInt64LE(0));
    if (len > BigInt(MAX_ALLGLEN)) throw new MemoryReadError(bin.globals.allglen + bias, `implausible runtime.allglen ${len}`);
    const n = Number(len);
    if (n === 0 || ptr === 0) return [];
    const arr = mem.read(ptr, n * 8);
    const ptrAgain = Number(mem.read(bin.globals.allgptr + bias, 8).readBigUInt64LE(0));
    if (ptrAgain !== ptr) continue; // allgs was reallocated while we read it
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const g = Number(arr.readBigUInt64LE(i * 8));
      if (g !== 0) out.push(g);
    }
    return out;
  }
  throw new MemoryReadError(bin.globals.allgptr + bias, 'runtime.allgs kept moving while being read');
}

/** The g at `addr` if it looks like one; with `prints`, its fingerprint goes to prints at k. */
function readG(ctx: SnapshotContext, addr: number, prints?: Uint32Array, k = 0): RawG | undefined {
  try {
    const buf = ctx.gmem.cachedRef(addr, ctx.bin.layout.g.size);
    const raw = decodeG(buf, ctx.gmem.refOffset, addr, ctx.bin.layout);
    if (prints) fingerprintAt(buf, ctx.gmem.refOffset, ctx.bin.layout, prints, k);
    return validateG(raw, ctx.bin.layout.goMinor) ? raw : undefined;
  } catch (err) {
    // Unmapped or torn: this G is skipped. A dead process is not a torn read.
    if (err instanceof MemoryReadError && !(err instanceof ProcessGoneError)) return undefined;
    throw err;
  }
}

/** The g at `addr` still has the fingerprint its first read left at prints[k]. */
function unchanged(ctx: SnapshotContext, addr: number, prints: Uint32Array, k: number): boolean {
  try {
    const buf = ctx.gmem.cachedRef(addr, ctx.bin.layout.g.size);
    fingerprintAt(buf, ctx.gmem.refOffset, ctx.bin.layout, NOW, 0);
    return NOW[0] === prints[2 * k] && NOW[1] === prints[2 * k + 1];
  } catch (err) {
    if (err instanceof MemoryReadError && !(err instanceof ProcessGoneError)) return false;
    throw err;
  }
}

function invalidate(ctx: SnapshotContext): void {
  ctx.mem.invalidate();
  if (ctx.gmem !== ctx.mem) ctx.gmem.invalidate();
}

function readCount(ctx: SnapshotContext): number {
  return ctx.mem.readCount + (ctx.gmem !== ctx.mem ? ctx.gmem.readCount : 0);
}

function isLive(raw: RawG): boolean {
  const s = raw.status & ~G_SCAN;
  return s !== G_DEAD && s !== G_DEADEXTRA;
}

function retry(ctx: SnapshotContext, tools: Tools, addr: number, nowNs: number): Goroutine | 'gone' | 'unstable' {
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
    invalidate(ctx);
    const before = readG(ctx, addr);
    if (!before) continue;
    if (!isLive(before)) return 'gone';
    if ((before.status & G_SCAN) !== 0 || (before.status & ~G_SCAN) === G_COPYSTACK) continue; // GC owns the stack right now
    const g = buildGoroutine(ctx, tools, before, nowNs);
    invalidate(ctx);
    const after = readG(ctx, addr);
    if (after && sameG(before, after)) return g ?? 'gone';
  }
  return 'unstable';
}

function buildHeader(ctx: SnapshotContext, sym: Symbolizer, raw: RawG, nowNs: number): Goroutine {
  const { layout } = ctx.bin;
  const status = raw.status & ~G_SCAN;
  const waiting = status === G_WAITING || status === G_LEAKED;
  const waitReason = waiting && raw.waitreason !== 0 ? (ctx.bin.waitReasons[raw.waitreason] ?? 'unknown wait reason') : null;
  let waitMinutes: number | null = null;
  if ((status === G_WAITING || status === G_SYSCALL) && raw.waitsince !== 0) {
    const m = Math.floor((nowNs - raw.waitsince) / 60e9);
    if (m >= 1) waitMinutes = m;
  }
  const start = sym.startFunction(raw.startpc);
  return {
    id: raw.goid,
    status: STATUS_NAMES[status] ?? 'idle',
    rawStatus: raw.status,
    waitReason,
    waitMinutes,
    lockedToThread: raw.lockedm !== 0,
    system: start.system,
    frames: [],
    stackError: null,
    framesElided: false,
    createdBy: sym.createdBy(raw.gopc, raw.goid),
    parentId: layout.g.parentGoid !== undefined && raw.parentGoid !== 0 ? raw.parentGoid : null,
    labels: layout.goMinor >= 24 ? readLabels(ctx.mem, raw.labels) : {},
    startFunction: start.name,
    gAddr: raw.addr,
  };
}

function buildGoroutine(ctx: SnapshotContext, tools: Tools, raw: RawG, nowNs: number): Goroutine | undefined {
  if (!isLive(raw)) return undefined;
  const g = buildHeader(ctx, tools.sym, raw, nowNs);
  const status = raw.status & ~G_SCAN;
  if (status === G_RUNNING) {
    g.stackError = 'goroutine running on other thread; stack unavailable';
    return g;
  }
  const start = raw.syscallsp !== 0 ? { pc: raw.syscallpc, sp: raw.syscallsp } : { pc: raw.schedPc, sp: raw.schedSp };
  if (start.pc === 0 || start.sp === 0) {
    g.stackError = 'no saved context';
    return g;
  }
  const pcs = tools.pcs;
  pcs.length = 0;
  try {
    g.stackError = tools.unwinder.walk(ctx.mem, start, { lo: raw.stackLo, hi: raw.stackHi }, pcs);
  } catch (err) {
    if (!(err instanceof MemoryReadError) || err instanceof ProcessGoneError) throw err;
    g.stackError = `stack unreadable: ${err.message}`;
  }
  const printed = tools.sym.frames(pcs, tools.unwinder);
  g.frames = printed.frames;
  g.framesElided = printed.elided;
  return g;
}
