// Per binary and load bias: what the analysis computes once and reuses for
// every snapshot (layouts, type names, the addresses of runtime.semtable and
// mheap_.arenas).
import type { BinaryInfo } from '../binary/index.ts';
import { GtopError } from '../errors.ts';
import { findHeapArenas, findSemtable } from '../binary/globals.ts';
import { PF_W, PF_X, PT_LOAD } from '../binary/elf.ts';
import { type AnalysisLayout, analysisLayout } from './layout.ts';
import { TypeNames } from './typename.ts';

export interface AnalysisStatics {
  layout: AnalysisLayout;
  types: TypeNames;
  /** Run-time addresses; undefined when not found (stripped binary whose code did not match). */
  semtable: number | undefined;
  heapArenas: number | undefined;
  /** Run-time ranges of the global variables that may hold pointers (.data and .bss, as the GC scans them). */
  globals: { lo: number; hi: number }[];
  /** Every writable segment at run time: where any global variable lives. */
  writable: { lo: number; hi: number }[];
  /** True for an address in the executable's code. */
  isCode(addr: number): boolean;
}

const cache = new WeakMap<BinaryInfo, Map<number, AnalysisStatics>>();

export function analysisStatics(bin: BinaryInfo, bias: number): AnalysisStatics {
  let byBias = cache.get(bin);
  if (!byBias) cache.set(bin, (byBias = new Map()));
  let s = byBias.get(bias);
  if (!s) byBias.set(bias, (s = build(bin, bias)));
  return s;
}

function build(bin: BinaryInfo, bias: number): AnalysisStatics {
  const layout = analysisLayout(bin);
  const semtable = findSemtable(bin.elf, bin.pclntab);
  const heapArenas = findHeapArenas(bin.elf, bin.pclntab, layout.heap.arenasOffset);
  const loads = bin.elf.segments.filter((p) => p.type === PT_LOAD);
  const code = loads.filter((p) => p.flags & PF_X).map((p) => ({ lo: p.vaddr + bias, hi: p.vaddr + p.memsz + bias }));
  const writable = loads.filter((p) => (p.flags & PF_W) !== 0).map((p) => ({ lo: p.vaddr + bias, hi: p.vaddr + p.memsz + bias }));
  const globals = pointerGlobals(bin, layout)?.map((r) => ({ lo: r.lo + bias, hi: r.hi + bias })) ?? writable;
  return {
    layout,
    types: new TypeNames(bin, layout, bias),
    semtable: semtable === undefined ? undefined : semtable + bias,
    heapArenas: heapArenas === undefined ? undefined : heapArenas + bias,
    globals,
    writable,
    isCode: (a) => code.some((r) => a >= r.lo && a < r.hi),
  };
}

/** moduledata.data..edata and bss..ebss (link-time): noptrdata/noptrbss hold no pointers by construction. */
function pointerGlobals(bin: BinaryInfo, layout: AnalysisLayout): { lo: number; hi: number }[] | undefined {
  const md = bin.globals.firstmoduledata;
  if (md === undefined) return undefined;
  try {
    const m = layout.moduledata;
    const [data, edata, bss, ebss] = [m.data, m.edata, m.bss, m.ebss].map((off) => bin.elf.readPointer(md + off)) as [number, number, number, number];
    const inWritable = (lo: number, hi: number) => lo <= hi && bin.elf.segments.some((p) => p.type === PT_LOAD && (p.flags & PF_W) !== 0 && lo >= p.vaddr && hi <= p.vaddr + p.memsz);
    return inWritable(data, edata) && inWritable(bss, ebss) ? [{ lo: data, hi: edata }, { lo: bss, hi: ebss }] : undefined;
  } catch (err) {
    if (err instanceof GtopError) return undefined;
    throw err;
  }
}
