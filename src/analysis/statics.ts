// Per binary and load bias: what the analysis computes once and reuses for
// every snapshot (layouts, type names, the addresses of runtime.semtable and
// mheap_.arenas).
import type { BinaryInfo } from '../binary/index.ts';
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
  /** Writable segments at run time: the roots that hold global variables. */
  globals: { lo: number; hi: number }[];
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
  const globals = loads.filter((p) => (p.flags & PF_W) !== 0).map((p) => ({ lo: p.vaddr + bias, hi: p.vaddr + p.memsz + bias }));
  return {
    layout,
    types: new TypeNames(bin, layout, bias),
    semtable: semtable === undefined ? undefined : semtable + bias,
    heapArenas: heapArenas === undefined ? undefined : heapArenas + bias,
    globals,
    isCode: (a) => code.some((r) => a >= r.lo && a < r.hi),
  };
}
