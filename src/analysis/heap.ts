// Heap objects of a running Go process: which object an address falls in,
// by the runtime's own span lookup (mheap.go spanOf: arena index → heapArena
// → spans[page] → mspan start, npages, elemsize). Only spans in use for
// ordinary objects count (mSpanInUse); stacks live in manual spans and are
// not heap objects here.
import type { TargetMemory } from '../target/memory.ts';
import type { HeapLayout } from './layout.ts';
import { readStruct, word } from './read.ts';

const ARENA_SHIFT = 26; // heapArenaBytes = 64 MiB on linux/amd64
const ARENA_BASE = 2 ** 47; // -arenaBaseOffset
const L2_ENTRIES = 2 ** 22;
const PAGE = 8192;
const PAGES_PER_ARENA = 2 ** ARENA_SHIFT / PAGE;
const M_SPAN_IN_USE = 1;
/** Larger objects are not scanned (nor expected when they hold a channel). */
export const MAX_OBJECT = 64 << 20;

export interface HeapObject { base: number; size: number }
interface Span { start: number; end: number; elemsize: number }

export class HeapIndex {
  private readonly l2: number;
  private readonly arenas = new Map<number, number>();
  private readonly spans = new Map<number, Span | null>();

  private constructor(private readonly mem: TargetMemory, private readonly L: HeapLayout, l2: number) {
    this.l2 = l2;
  }

  /** undefined when mheap_.arenas[0] does not hold an arena map. */
  static open(mem: TargetMemory, L: HeapLayout, arenasAddr: number): HeapIndex | undefined {
    const b = readStruct(mem, arenasAddr, 8);
    const l2 = b ? word(b, 0) : 0;
    return l2 > 0 ? new HeapIndex(mem, L, l2) : undefined;
  }

  /** The heap object containing `p`, or undefined for anything else (globals, stacks, free pages, garbage). */
  objectOf(p: number): HeapObject | undefined {
    const base = this.baseOf(p);
    return base < 0 ? undefined : { base, size: this.size };
  }

  /** Size of the object found by the last successful baseOf. */
  size = 0;
  private last: Span | null = null;

  /** Allocation-free objectOf for hot loops: the object's base, or -1; its size is left in `size`. */
  baseOf(p: number): number {
    let span = this.last;
    if (!span || p < span.start || p >= span.end) {
      span = this.spanOf(p) ?? null;
      if (!span) return -1;
      this.last = span;
    }
    const i = Math.floor((p - span.start) / span.elemsize);
    const base = span.start + i * span.elemsize;
    if (base + span.elemsize > span.end) return -1; // the tail of a span holds no object
    this.size = span.elemsize;
    return base;
  }

  private spanOf(p: number): Span | undefined {
    if (!(p > 0 && p < ARENA_BASE)) return undefined;
    const idx = Math.floor((p + ARENA_BASE) / 2 ** ARENA_SHIFT);
    let ha = this.arenas.get(idx);
    if (ha === undefined) {
      const b = idx < L2_ENTRIES ? readStruct(this.mem, this.l2 + idx * 8, 8) : undefined;
      ha = b ? Math.max(0, word(b, 0)) : 0;
      this.arenas.set(idx, ha);
    }
    if (ha === 0) return undefined;
    const page = Math.floor(p / PAGE);
    let span = this.spans.get(page);
    if (span === undefined) {
      span = this.readSpan(ha, page % PAGES_PER_ARENA) ?? null;
      this.spans.set(page, span);
    }
    return span && p >= span.start && p < span.end ? span : undefined;
  }

  private readSpan(ha: number, pageInArena: number): Span | undefined {
    const b = readStruct(this.mem, ha + this.L.arenaSpans + pageInArena * 8, 8);
    const s = b ? word(b, 0) : 0;
    if (s <= 0) return undefined;
    const L = this.L;
    const m = readStruct(this.mem, s, Math.max(L.spanStartAddr, L.spanNpages, L.spanElemsize) + 8);
    const st = readStruct(this.mem, s + L.spanState, 1);
    if (!m || !st || st[0] !== M_SPAN_IN_USE) return undefined;
    const start = word(m, L.spanStartAddr);
    const npages = word(m, L.spanNpages);
    const elemsize = word(m, L.spanElemsize);
    if (start <= 0 || npages <= 0 || npages > PAGES_PER_ARENA * 1024 || elemsize <= 0 || start % PAGE !== 0) return undefined;
    return { start, end: start + npages * PAGE, elemsize };
  }
}
