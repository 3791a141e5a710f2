// The analysis readers on garbage: memory whose words are random or point at
// random places (loops included), with holes. Every reader must return (an
// answer, undefined or a reason), never hang and never throw anything but a
// GtopError: the target keeps running and may hand us anything.
import test from 'ava';
import { readChannel, readWaitingSudogs } from '../../src/analysis/channels.ts';
import { HeapIndex } from '../../src/analysis/heap.ts';
import { type AnalysisLayout, heapLayout } from '../../src/analysis/layout.ts';
import { findCondList, semtableWaiters } from '../../src/analysis/sema.ts';
import type { TypeNames } from '../../src/analysis/typename.ts';
import { GtopError, MemoryReadError } from '../../src/errors.ts';
import type { TargetMemory } from '../../src/target/memory.ts';

const BASE = 0x10000;
const SPAN = 1 << 20;
const PAGE = 4096;

/** Deterministic garbage: each page is unmapped (1 in 4) or filled from a seed; half the words point back into the space. */
class GarbageMemory {
  private readonly pages = new Map<number, Buffer | null>();
  constructor(private readonly seed: number) {}
  private page(n: number): Buffer | null {
    let p = this.pages.get(n);
    if (p !== undefined) return p;
    let s = (this.seed * 2654435761 + n * 40503) >>> 0;
    const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
    p = null;
    if (n * PAGE >= BASE && n * PAGE < BASE + SPAN && rand() % 4 !== 0) {
      p = Buffer.alloc(PAGE);
      for (let o = 0; o < PAGE; o += 8) {
        const r = rand() % 4;
        const v = r < 2 ? BASE + (rand() % (SPAN / 8)) * 8 : r === 2 ? rand() : 0;
        p.writeUInt32LE(v >>> 0, o);
        p.writeUInt32LE(r === 3 ? rand() & 0xffff : 0, o + 4);
      }
    }
    this.pages.set(n, p);
    return p;
  }
  cached(addr: number, len: number): Buffer {
    const out = Buffer.alloc(len);
    for (let done = 0; done < len; ) {
      const p = this.page(Math.floor((addr + done) / PAGE));
      if (!p) throw new MemoryReadError(addr + done, 'unmapped');
      const off = (addr + done) % PAGE;
      const n = Math.min(len - done, PAGE - off);
      p.copy(out, done, off, off + n);
      done += n;
    }
    return out;
  }
  refOffset = 0;
  cachedRef(addr: number, len: number): Buffer {
    this.refOffset = 0;
    return this.cached(addr, len);
  }
  tryRead(addr: number, len: number): Buffer | undefined {
    try { return this.cached(addr, len); } catch { return undefined; }
  }
  invalidate(): void {}
}

// Go 1.26 offsets; the garbage does not care which version it breaks.
const L: AnalysisLayout = {
  goMinor: 26, g: { size: 448, waiting: 208 },
  hchan: { size: 112, qcount: 0, dataqsiz: 8, elemsize: 24, closed: 28, elemtype: 40, sendx: 48, recvx: 56, recvq: 64, sendq: 80 },
  waitq: { first: 0, last: 8 },
  sudog: { size: 104, g: 0, next: 8, prev: 16, elem: 32, isSelect: 60, parent: 64, waitlink: 72, waittail: 80, c: 96 },
  semaRoot: { treap: 8, nwait: 16 }, notifyList: { head: 16, tail: 24 }, condNotify: 16, type: { tflag: 20, str: 40 },
  moduledata: { types: 296, etypes: 304, data: 208, edata: 216, bss: 224, ebss: 232 }, heap: heapLayout(26),
};
const noTypes = { name: () => null } as unknown as TypeNames;

function guarded<T>(f: () => T): T | 'rejected' {
  try {
    return f();
  } catch (err) {
    if (err instanceof GtopError) return 'rejected';
    throw err;
  }
}

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  test(`garbage memory, seed ${seed}: every reader returns`, (t) => {
    const mem = new GarbageMemory(seed) as unknown as TargetMemory;
    let s = seed;
    const addr = () => BASE + ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % (SPAN / 8)) * 8;
    let answers = 0;
    for (let i = 0; i < 200; i++) {
      const a = addr();
      const sudogs = guarded(() => readWaitingSudogs(mem, L, addr(), a));
      if (Array.isArray(sudogs)) answers++;
      const ch = guarded(() => readChannel(mem, L, a, noTypes, (g) => (g % 16 === 0 ? g : undefined)));
      if (ch && ch !== 'rejected') {
        answers++;
        t.true(ch.channel.len <= ch.channel.cap, 'a channel is only reported when its invariants hold');
      }
      guarded(() => findCondList(mem, L, addr(), a, a + 8192, () => false));
      const heap = guarded(() => HeapIndex.open(mem, L.heap, a));
      if (heap && heap !== 'rejected') for (let k = 0; k < 20; k++) guarded(() => heap.objectOf(addr()));
    }
    const table = guarded(() => semtableWaiters(mem, L, addr()));
    t.true(table === 'rejected' || table instanceof Map);
    t.log(`${answers} reads came back as answers`);
    t.pass();
  });
}

test('addresses outside user space never reach memory', (t) => {
  const never = () => { throw new Error('must not be called'); };
  const mem = { cached: never, cachedRef: never, tryRead: () => undefined, invalidate: () => {} } as unknown as TargetMemory;
  for (const a of [8, 0xfff, -8, 2 ** 47, 2 ** 53, Number.NaN]) {
    t.is(readChannel(mem, L, a, noTypes, () => undefined), undefined);
    t.is(readWaitingSudogs(mem, L, 0x1000, a), `sudog 0x${a.toString(16)} is unreadable`);
  }
  t.deepEqual(readWaitingSudogs(mem, L, 0x1000, 0), []);
});
