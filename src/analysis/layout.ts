// Offsets the wait analysis needs beyond the snapshot's RuntimeLayout: the
// rest of hchan and sudog (from the generated per-version table), semaRoot,
// notifyList, the type descriptor and the heap's span lookup. The heap
// offsets are not in the generated table; test/unit/analysis-layout.test.ts
// checks them against the DWARF of every supported version.
import type { BinaryInfo } from '../binary/index.ts';
import { GtopError } from '../errors.ts';
import generated from '../runtime/layouts.generated.json' with { type: 'json' };

export interface AnalysisLayout {
  goMinor: number;
  g: { size: number; waiting: number };
  hchan: { size: number; qcount: number; dataqsiz: number; elemsize: number; closed: number; elemtype: number;
           sendx: number; recvx: number; recvq: number; sendq: number };
  waitq: { first: number; last: number };
  /** 1.26: elem and c are the `vu` halves of maybeTraceablePtr (the always-valid address). */
  sudog: { size: number; g: number; next: number; prev: number; elem: number; isSelect: number; parent: number;
           waitlink: number; waittail: number; c: number };
  semaRoot: { treap: number; nwait: number };
  notifyList: { head: number; tail: number };
  /** offsetof(sync.Cond, notify). */
  condNotify: number;
  /** runtime._type / internal/abi.Type: the same for 1.19–1.26. */
  type: { tflag: number; str: number };
  moduledata: { types: number; etypes: number; data: number; edata: number; bss: number; ebss: number };
  heap: HeapLayout;
}

/** linux/amd64 span lookup (mheap.go spanOf): arena index = (p + 2^47) >> 26, one L1 entry. */
export interface HeapLayout {
  arenasOffset: number;
  /** offsetof(heapArena, spans): the bitmap came first until 1.22. */
  arenaSpans: number;
  spanStartAddr: number;
  spanNpages: number;
  spanElemsize: number;
  /** mspan.state (mSpanStateBox, one byte); mSpanInUse = 1. */
  spanState: number;
}

const HEAP: Record<number, HeapLayout> = {
  19: { arenasOffset: 65936, arenaSpans: 2097152, spanStartAddr: 24, spanNpages: 32, spanElemsize: 104, spanState: 99 },
  20: { arenasOffset: 65904, arenaSpans: 1064960, spanStartAddr: 24, spanNpages: 32, spanElemsize: 104, spanState: 99 },
  21: { arenasOffset: 65944, arenaSpans: 1064960, spanStartAddr: 24, spanNpages: 32, spanElemsize: 112, spanState: 107 },
  22: { arenasOffset: 66008, arenaSpans: 0, spanStartAddr: 24, spanNpages: 32, spanElemsize: 104, spanState: 99 },
};
export function heapLayout(goMinor: number): HeapLayout {
  const key = Math.max(...Object.keys(HEAP).map(Number).filter((k) => k <= goMinor));
  const h = HEAP[key];
  if (!h) throw new GtopError('unsupported-go', `Go 1.${goMinor}: no heap layout`);
  return h;
}

interface TableStruct { size: number; fields: Record<string, number> }
const TABLE = generated as unknown as Record<string, { structs: Record<string, TableStruct> }>;

const cache = new WeakMap<BinaryInfo, AnalysisLayout>();

export function analysisLayout(bin: BinaryInfo): AnalysisLayout {
  let l = cache.get(bin);
  if (!l) cache.set(bin, (l = build(bin)));
  return l;
}

function build(bin: BinaryInfo): AnalysisLayout {
  const rt = bin.layout;
  const minor = rt.goMinor;
  const structs = TABLE[String(minor)]?.structs;
  const field = (s: string, f: string): number => {
    const v = structs?.[s]?.fields[f];
    if (v === undefined) throw new GtopError('internal', `Go 1.${minor}: no ${s}.${f} in the layout table`);
    return v;
  };
  // The table's hchan offsets stand for a runtime laid out like the table's;
  // DWARF (in rt) may say otherwise (e.g. staticlockranking): shift by the
  // difference of a field both know that precedes sendx/recvx.
  const shift = rt.hchan.elemtype - field('runtime.hchan', 'elemtype');
  return {
    goMinor: minor,
    g: { size: rt.g.size, waiting: rt.g.waiting },
    hchan: {
      size: rt.hchan.size, qcount: rt.hchan.qcount, dataqsiz: rt.hchan.dataqsiz, elemsize: rt.hchan.elemsize,
      closed: rt.hchan.closed, elemtype: rt.hchan.elemtype, recvq: rt.hchan.recvq, sendq: rt.hchan.sendq,
      sendx: field('runtime.hchan', 'sendx') + shift, recvx: field('runtime.hchan', 'recvx') + shift,
    },
    waitq: rt.waitq,
    sudog: {
      size: rt.sudog.size, g: rt.sudog.g, next: rt.sudog.next, prev: rt.sudog.prev, elem: rt.sudog.elem,
      isSelect: rt.sudog.isSelect, waitlink: rt.sudog.waitlink, c: rt.sudog.c,
      parent: field('runtime.sudog', 'parent'), waittail: field('runtime.sudog', 'waittail'),
    },
    semaRoot: { treap: field('runtime.semaRoot', 'treap'), nwait: field('runtime.semaRoot', 'nwait') },
    notifyList: { head: field('runtime.notifyList', 'head'), tail: field('runtime.notifyList', 'tail') },
    condNotify: field('sync.Cond', 'notify'),
    type: { tflag: 20, str: 40 },
    moduledata: {
      types: field('runtime.moduledata', 'types'), etypes: field('runtime.moduledata', 'etypes'),
      data: field('runtime.moduledata', 'data'), edata: field('runtime.moduledata', 'edata'),
      bss: field('runtime.moduledata', 'bss'), ebss: field('runtime.moduledata', 'ebss'),
    },
    heap: heapLayout(minor),
  };
}
