// Which blocked goroutines can never wake: a conservative mark of the heap
// from every root that could still act (the stacks of goroutines that are
// not blocked on a channel or sync object, and the global variables),
// removing from the blocked set every goroutine whose channel or lock gets
// reached, and marking from its stack in turn, until nothing changes (the
// greatest fixed point). Conservative = every word that points into a heap
// object keeps the whole object alive, so the mark over-approximates what
// the program can reach and "not reached" is safe to claim. This is the idea
// of Go 1.26's goroutine leak profile, done from outside.
import type { TargetMemory } from '../target/memory.ts';
import { G_RUNNING, G_SCAN, G_WAITING, G_LEAKED, G_DEAD, G_DEADEXTRA, type Snapshot } from '../runtime/goroutine.ts';
import { SEMTABLE_SIZE } from '../binary/globals.ts';
import { HeapIndex, MAX_OBJECT } from './heap.ts';
import { type WaitGraph, type WaitTarget, isPermanentWait } from './model.ts';
import { readRef, readStruct, whileAlive, word } from './read.ts';
import { analysisStatics } from './statics.ts';
import type { WaitSource } from './waits.ts';

export interface ReachOptions {
  /** Bytes of heap the mark may scan per pass before giving up (default 512 MiB). */
  budgetBytes?: number;
  /** Bytes per stuck goroutine for finding who could wake whom (default 8 MiB). */
  edgeBudgetBytes?: number;
  /** Independent passes whose stuck sets are intersected (default 2): the target runs while it is read. */
  passes?: number;
}

export interface Reachability {
  /** Goroutines proven never to wake, by goid. */
  stuck: Set<number>;
  /** For each stuck goroutine: the keys (targetKey) of the stuck goroutines' wait objects its own stack reaches. */
  reaches: Map<number, Set<string>>;
  /** What the proof looked at. */
  checked: { roots: number; stackBytes: number; globalBytes: number; heapBytes: number; heapObjects: number; passes: number };
  /** Set when nothing could be proven, with the reason. */
  inconclusive: string | null;
}

/** Identity of a wait object across goroutines. */
export function targetKey(t: WaitTarget): string {
  return t.kind === 'channel' ? `chan@${t.addr}` : `${t.lock}@${t.addr}`;
}

const MAX_ALLGS = 50_000_000;
const SCAN_PIECE = 64 << 10; // the memory cache's chunk size
const PAGE = 4096;

export function scanReachability(src: WaitSource, snap: Snapshot, graph: WaitGraph, opts: ReachOptions = {}): Reachability {
  return whileAlive(snap.pid, () => scan(src, snap, graph, opts));
}

function scan(src: WaitSource, snap: Snapshot, graph: WaitGraph, opts: ReachOptions): Reachability {
  const passes = Math.max(1, opts.passes ?? 2);
  const checked = { roots: 0, stackBytes: 0, globalBytes: 0, heapBytes: 0, heapObjects: 0, passes };
  let stuck: Set<number> | undefined;
  let reaches = new Map<number, Set<string>>();
  for (let i = 0; i < passes; i++) {
    const r = onePass(src, snap, graph, opts, checked, stuck);
    if (typeof r === 'string') return { stuck: new Set(), reaches: new Map(), checked, inconclusive: r };
    stuck = r.stuck;
    reaches = r.reaches;
  }
  return { stuck: stuck ?? new Set(), reaches, checked, inconclusive: null };
}

/** A goroutine's g, and the range of its stack to scan (lo..hi). */
interface LiveG { addr: number; goid: number; status: number; stackLo: number; stackHi: number; lo: number; hi: number }

function onePass(
  src: WaitSource, snap: Snapshot, graph: WaitGraph, opts: ReachOptions, checked: Reachability['checked'], prior: Set<number> | undefined,
): { stuck: Set<number>; reaches: Map<number, Set<string>> } | string {
  const st = analysisStatics(src.bin, src.bias);
  const mem = src.memory;
  mem.invalidate();
  if (snap.unreadable > 0) return `${snap.unreadable} goroutines could not be read, so their references are unknown`;
  if (st.heapArenas === undefined) return 'the heap index (runtime.mheap_.arenas) was not found in this binary';
  const heap = HeapIndex.open(mem, st.layout.heap, st.heapArenas);
  if (!heap) return 'the heap index (runtime.mheap_.arenas) is empty';
  const gs = readAllGs(src);
  if (typeof gs === 'string') return gs;
  // g structs are the runtime's bookkeeping (allgs, run queues, sudog.g):
  // reaching one says nothing about what its goroutine can do.
  const excluded = new Set<number>();
  for (const g of gs) {
    const o = heap.objectOf(g.addr);
    if (o) excluded.add(o.base);
  }
  if (!gs.some((g) => excluded.has(g.addr))) return 'the heap index does not describe the goroutines\' g structs (unexpected runtime layout)';

  // Candidates: fully resolved channel/sync waits, or waits that never end.
  const snapById = new Map(snap.goroutines.map((g) => [g.id, g]));
  const candidates = new Map<number, { live: LiveG; targets: readonly WaitTarget[] }>();
  const byGoid = new Map(gs.map((g) => [g.goid, g]));
  for (const [goid, w] of graph.byGoroutine) {
    if (w.error !== null || (w.targets.length === 0 && !isPermanentWait(w.reason))) continue;
    if (prior && !prior.has(goid)) continue;
    const live = byGoid.get(goid);
    const s = live && live.status & ~G_SCAN;
    if (!live || (s !== G_WAITING && s !== G_LEAKED) || live.addr !== snapById.get(goid)?.gAddr) continue;
    candidates.set(goid, { live, targets: w.targets });
  }

  const budget = opts.budgetBytes ?? 512 << 20;
  const marker = new Marker(mem, heap, excluded, budget);
  const semtable = st.semtable;
  for (const r of st.globals) {
    // semtable holds the sudogs of every semaphore waiter, whose elem is the semaphore.
    if (semtable !== undefined && semtable >= r.lo && semtable < r.hi) {
      checked.globalBytes += marker.scanRange(r.lo, semtable) + marker.scanRange(semtable + SEMTABLE_SIZE, r.hi);
    } else checked.globalBytes += marker.scanRange(r.lo, r.hi);
  }
  const stuck = new Set(candidates.keys());
  // A goroutine that can run is a root with its stack and its g: the g
  // holds what is not on the stack yet or any more (the closure of a
  // goroutine not started, heap-allocated defers, a panic's value).
  const gSize = src.bin.layout.g.size;
  const root = (g: LiveG) => {
    checked.roots++;
    checked.stackBytes += marker.scanRange(g.lo, g.hi) + marker.scanRange(g.addr, g.addr + gSize);
  };
  for (const g of gs) if (!stuck.has(g.goid)) root(g);
  const where = locator(st.writable, heap, gs);
  const isReached = (m: Marker, t: WaitTarget, by: (goid: number) => boolean) => {
    const loc = where(t.addr);
    if (loc.kind === 'heap') return m.marked.has(loc.base);
    if (loc.kind === 'stack') return by(loc.goid);
    return true; // a global, or memory we cannot see into: anyone may reach it
  };
  for (let changed = true; changed; ) {
    marker.drain();
    if (marker.exhausted) return `the heap mark exceeded its budget of ${budget} bytes`;
    changed = false;
    for (const goid of [...stuck]) {
      if (!candidates.get(goid)!.targets.some((t) => isReached(marker, t, (h) => !stuck.has(h)))) continue;
      stuck.delete(goid);
      changed = true;
      root(candidates.get(goid)!.live);
    }
  }
  checked.heapBytes += marker.bytes;
  checked.heapObjects += marker.marked.size;

  // Who could wake whom inside the stuck set: what each one's stack reaches.
  const reaches = new Map<number, Set<string>>();
  const keys = new Map<string, WaitTarget>();
  for (const goid of stuck) for (const t of candidates.get(goid)!.targets) keys.set(targetKey(t), t);
  for (const goid of stuck) {
    const m = new Marker(mem, heap, excluded, opts.edgeBudgetBytes ?? 8 << 20);
    const live = candidates.get(goid)!.live;
    m.scanRange(live.lo, live.hi);
    m.drain();
    const set = new Set<string>();
    for (const [k, t] of keys) if (isReached(m, t, (h) => h === goid)) set.add(k);
    reaches.set(goid, set);
  }
  mem.invalidate();
  return { stuck, reaches };
}

/** Every live goroutine from a fresh read of allgs, with the part of its stack that may hold references. */
function readAllGs(src: WaitSource): LiveG[] | string {
  const { bin, bias, memory: mem } = src;
  const L = bin.layout.g;
  const lenB = readStruct(mem, bin.globals.allglen + bias, 8);
  const ptrB = readStruct(mem, bin.globals.allgptr + bias, 8);
  if (!lenB || !ptrB) return 'runtime.allgs is unreadable';
  const n = word(lenB, 0);
  const view = n > 0 && n <= MAX_ALLGS ? readStruct(mem, word(ptrB, 0), n * 8) : undefined;
  if (!view) return 'runtime.allgs is unreadable';
  // Our own copy: reading the gs loads many chunks, and the cache recycles them.
  const arr = Buffer.from(view);
  const out: LiveG[] = [];
  for (let i = 0; i < n; i++) {
    const addr = word(arr, i * 8);
    const b = addr > 0 ? readRef(mem, addr, L.size) : undefined;
    if (!b) continue;
    const o = mem.refOffset;
    const status = b.readUInt32LE(o + L.atomicstatus) & ~G_SCAN;
    const lo = word(b, o + L.stackLo), hi = word(b, o + L.stackHi), sp = word(b, o + L.schedSp);
    if (status === G_DEAD || status === G_DEADEXTRA || hi <= lo || lo <= 0) continue;
    // Parked goroutines use their stack from the saved sp up; anything else may use all of it.
    const parked = status !== G_RUNNING && word(b, o + L.syscallsp) === 0 && sp >= lo && sp < hi;
    out.push({ addr, goid: word(b, o + L.goid), status, stackLo: lo, stackHi: hi, lo: parked ? sp : lo, hi });
  }
  return out;
}

type Location = { kind: 'heap'; base: number } | { kind: 'stack'; goid: number } | { kind: 'other' };

function locator(globals: { lo: number; hi: number }[], heap: HeapIndex, gs: LiveG[]): (addr: number) => Location {
  return (addr) => {
    if (globals.some((r) => addr >= r.lo && addr < r.hi)) return { kind: 'other' };
    const o = heap.objectOf(addr);
    if (o) return { kind: 'heap', base: o.base };
    const g = gs.find((x) => addr >= x.stackLo && addr < x.stackHi);
    return g ? { kind: 'stack', goid: g.goid } : { kind: 'other' };
  };
}

class Marker {
  readonly marked = new Set<number>();
  bytes = 0;
  exhausted = false;
  // Objects to scan, as parallel arrays: millions of small objects otherwise.
  private readonly bases: number[] = [];
  private readonly sizes: number[] = [];

  constructor(private readonly mem: TargetMemory, private readonly heap: HeapIndex, private readonly excluded: Set<number>, private readonly budget: number) {}

  /** Scans [lo, hi) for pointers to heap objects; returns the bytes read. */
  scanRange(lo: number, hi: number): number {
    let done = 0;
    lo -= lo % 8;
    // Pieces that end on chunk boundaries come straight from the cache; a piece
    // with an unmapped page is retried page by page so the rest still counts.
    for (let a = lo; a < hi; ) {
      const end = Math.min(hi, (Math.floor(a / SCAN_PIECE) + 1) * SCAN_PIECE);
      const len = (end - a) - ((end - a) % 8);
      if (len <= 0) break;
      const b = readRef(this.mem, a, len);
      if (b) {
        this.words(b, this.mem.refOffset, len);
        done += len;
      } else {
        for (let p = a; p < end; p = (Math.floor(p / PAGE) + 1) * PAGE) {
          const plen = Math.min(end, (Math.floor(p / PAGE) + 1) * PAGE) - p;
          const pb = readRef(this.mem, p, plen - (plen % 8));
          if (pb) { this.words(pb, this.mem.refOffset, plen - (plen % 8)); done += plen; }
        }
      }
      a = end;
    }
    return done;
  }

  drain(): void {
    while (this.bases.length > 0) {
      const base = this.bases.pop()!;
      const size = Math.min(this.sizes.pop()!, MAX_OBJECT);
      if (this.bytes + size > this.budget) {
        this.exhausted = true;
        return;
      }
      this.bytes += size;
      this.scanRange(base, base + size);
    }
  }

  private words(b: Buffer, off: number, len: number): void {
    const heap = this.heap;
    for (let end = off + len; off + 8 <= end; off += 8) {
      const hi = b.readUInt32LE(off + 4);
      const lo = b.readUInt32LE(off);
      if (hi >= 0x8000 || (hi === 0 && lo < 0x10000)) continue; // above 2^47, or a small integer
      const base = heap.baseOf(hi * 0x100000000 + lo);
      if (base < 0 || this.marked.has(base)) continue;
      this.marked.add(base);
      if (!this.excluded.has(base)) {
        this.bases.push(base);
        this.sizes.push(heap.size);
      }
    }
  }
}
