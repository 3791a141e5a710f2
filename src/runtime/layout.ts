// The one place gtop gets runtime struct offsets from. Each offset is named by
// the runtime fields it is made of (FIELDS below), read from the target's own
// DWARF when it has one and from the generated per-version table otherwise
// (stripped binaries). The test that resolves both for the probe binaries of
// every version keeps the table honest.
import { GtopError } from '../errors.ts';
import type { DwarfInfo } from '../binary/dwarf.ts';
import generated from './layouts.generated.json' with { type: 'json' };

export interface RuntimeLayout {
  goMinor: number; source: 'dwarf' | 'table';
  g: { size: number; stackLo: number; stackHi: number; m: number; schedSp: number; schedPc: number; schedBp: number;
       syscallsp: number; syscallpc: number; syscallbp: number | undefined; atomicstatus: number; goid: number;
       waitsince: number; waitreason: number; lockedm: number; parentGoid: number | undefined; gopc: number;
       startpc: number; waiting: number; labels: number };
  m: { procid: number; curg: number; id: number };
  hchan: { qcount: number; dataqsiz: number; elemsize: number; closed: number; elemtype: number; recvq: number; sendq: number; lock: number; size: number };
  waitq: { first: number; last: number };
  /** 1.26: elem and c are {vp, vu}; the offsets given are those of vu, the always-valid address. */
  sudog: { g: number; next: number; prev: number; elem: number; isSelect: number; waitlink: number; c: number; size: number };
  moduledata: { text: number; gofunc: number | undefined; etext: number };
  /** Table copies; the binary's own runtime.waitReasonStrings is better when it can be read. */
  waitReasons: readonly string[];
  gStatusStrings: readonly string[];
  /** runfinq is FuncID_runFinalizers from 1.25 on; runCleanups exists from 1.25 on. */
  funcID: { wrapper: number; goexit: number; runtimeMain: number; gopanic: number; sigpanic: number; panicwrap: number;
            corostart: number | undefined; runfinq: number; runCleanups: number | undefined };
  funcFlag: { topFrame: number; spWrite: number; asm: number };
}

interface TableStruct { size: number; fields: Record<string, number> }
interface TableEntry {
  goVersion: string; structs: Record<string, TableStruct>; waitReasons: string[]; gStatusStrings: string[];
  funcIDs: Record<string, number>; funcFlags: Record<string, number>;
}
const TABLE = generated as unknown as Record<string, TableEntry>;

/** Go minor versions the table covers, ascending. */
export const SUPPORTED_GO_MINORS: readonly number[] = Object.keys(TABLE).map(Number).sort((a, b) => a - b);

// Field specs: "struct:field" steps whose offsets add up, e.g. g.sched then
// gobuf.sp. A step ending in "?" applies only when its struct exists in that
// version (1.26's maybeTraceablePtr). A spec ending in "?" may be absent.
const FIELDS = {
  g: {
    size: 'runtime.g', stackLo: 'runtime.g:stack runtime.stack:lo', stackHi: 'runtime.g:stack runtime.stack:hi',
    m: 'runtime.g:m', schedSp: 'runtime.g:sched runtime.gobuf:sp', schedPc: 'runtime.g:sched runtime.gobuf:pc',
    schedBp: 'runtime.g:sched runtime.gobuf:bp', syscallsp: 'runtime.g:syscallsp', syscallpc: 'runtime.g:syscallpc',
    syscallbp: 'runtime.g:syscallbp ?', atomicstatus: 'runtime.g:atomicstatus', goid: 'runtime.g:goid',
    waitsince: 'runtime.g:waitsince', waitreason: 'runtime.g:waitreason', lockedm: 'runtime.g:lockedm',
    parentGoid: 'runtime.g:parentGoid ?', gopc: 'runtime.g:gopc', startpc: 'runtime.g:startpc',
    waiting: 'runtime.g:waiting', labels: 'runtime.g:labels',
  },
  m: { procid: 'runtime.m:procid', curg: 'runtime.m:curg', id: 'runtime.m:id' },
  hchan: {
    qcount: 'runtime.hchan:qcount', dataqsiz: 'runtime.hchan:dataqsiz', elemsize: 'runtime.hchan:elemsize',
    closed: 'runtime.hchan:closed', elemtype: 'runtime.hchan:elemtype', recvq: 'runtime.hchan:recvq',
    sendq: 'runtime.hchan:sendq', lock: 'runtime.hchan:lock', size: 'runtime.hchan',
  },
  waitq: { first: 'runtime.waitq:first', last: 'runtime.waitq:last' },
  sudog: {
    g: 'runtime.sudog:g', next: 'runtime.sudog:next', prev: 'runtime.sudog:prev',
    elem: 'runtime.sudog:elem runtime.maybeTraceablePtr:vu?',
    isSelect: 'runtime.sudog:isSelect', waitlink: 'runtime.sudog:waitlink',
    c: 'runtime.sudog:c runtime.maybeTraceableChan:maybeTraceablePtr? runtime.maybeTraceablePtr:vu?',
    size: 'runtime.sudog',
  },
  moduledata: { text: 'runtime.moduledata:text', gofunc: 'runtime.moduledata:gofunc ?', etext: 'runtime.moduledata:etext' },
} as const;

interface Step { struct: string; field: string | undefined; ifPresent: boolean }
const parseSpec = (spec: string): { steps: Step[]; optional: boolean } => {
  const words = spec.split(' ');
  const optional = words[words.length - 1] === '?';
  const steps = (optional ? words.slice(0, -1) : words).map((w) => {
    const ifPresent = w.endsWith('?');
    const [struct, field] = (ifPresent ? w.slice(0, -1) : w).split(':') as [string, string | undefined];
    return { struct, field, ifPresent };
  });
  return { steps, optional };
};

/** Every struct a field spec reads: the names to pass to readDwarf. */
export const DWARF_STRUCTS: readonly string[] = [...new Set(
  Object.values(FIELDS).flatMap((group) => Object.values(group).flatMap((spec) => parseSpec(spec).steps.map((s) => s.struct))),
)];

interface Struct { size: number; offset(field: string): number | undefined; fromDwarf: boolean }

/** Resolves offsets for a Go 1.<goMinor> target: DWARF first, per struct, then the table. */
export function resolveLayout(goMinor: number, dwarf: DwarfInfo | undefined): RuntimeLayout {
  const entry = TABLE[String(goMinor)];
  if (!entry) {
    const lo = SUPPORTED_GO_MINORS[0], hi = SUPPORTED_GO_MINORS[SUPPORTED_GO_MINORS.length - 1];
    throw new GtopError('unsupported-go', `Go 1.${goMinor} is not supported (gtop supports Go 1.${lo} to 1.${hi})`);
  }
  let usedDwarf = false;
  const struct = (name: string): Struct | undefined => {
    const d = dwarf?.structs.get(name);
    if (d) {
      usedDwarf = true;
      return { size: d.size, offset: (f) => d.fields.get(f)?.offset, fromDwarf: true };
    }
    const t = entry.structs[name];
    return t && { size: t.size, offset: (f) => (Object.hasOwn(t.fields, f) ? t.fields[f] : undefined), fromDwarf: false };
  };
  const resolve = (spec: string): number | undefined => {
    const { steps, optional } = parseSpec(spec);
    let total = 0;
    for (const step of steps) {
      const s = struct(step.struct);
      if (!s && step.ifPresent) continue;
      const off = s && (step.field === undefined ? s.size : s.offset(step.field));
      if (off === undefined) {
        if (optional) return undefined;
        const what = `${step.struct}${step.field ? '.' + step.field : ''}`;
        // Missing from the target's own DWARF: a runtime gtop does not know. Missing from the table: a gtop bug.
        if (s?.fromDwarf) throw new GtopError('unsupported-go', `Go 1.${goMinor} target has no ${what} (its runtime differs from what gtop knows)`);
        throw new GtopError('internal', `Go 1.${goMinor}: no ${what} in the layout table`);
      }
      total += off;
    }
    return total;
  };
  const group = <K extends keyof typeof FIELDS>(k: K) =>
    Object.fromEntries(Object.entries(FIELDS[k]).map(([name, spec]) => [name, resolve(spec)])) as RuntimeLayout[K];

  const layout: RuntimeLayout = {
    goMinor, source: 'table',
    g: group('g'), m: group('m'), hchan: group('hchan'), waitq: group('waitq'), sudog: group('sudog'),
    moduledata: group('moduledata'),
    waitReasons: entry.waitReasons, gStatusStrings: entry.gStatusStrings,
    funcID: funcIDs(goMinor, entry.funcIDs), funcFlag: funcFlags(goMinor, entry.funcFlags),
  };
  layout.source = usedDwarf ? 'dwarf' : 'table';
  return layout;
}

function funcIDs(goMinor: number, ids: Record<string, number>): RuntimeLayout['funcID'] {
  const get = (name: string) => (Object.hasOwn(ids, name) ? ids[name] : undefined);
  const need = (...names: string[]): number => {
    for (const n of names) { const v = get(n); if (v !== undefined) return v; }
    throw new GtopError('internal', `Go 1.${goMinor}: no FuncID ${names.join('/')} in the layout table`);
  };
  return {
    wrapper: need('wrapper'), goexit: need('goexit'), runtimeMain: need('runtime_main'), gopanic: need('gopanic'),
    sigpanic: need('sigpanic'), panicwrap: need('panicwrap'), corostart: get('corostart'),
    runfinq: need('runfinq', 'runFinalizers'), runCleanups: get('runCleanups'),
  };
}

function funcFlags(goMinor: number, flags: Record<string, number>): RuntimeLayout['funcFlag'] {
  const need = (name: string): number => {
    if (Object.hasOwn(flags, name)) return flags[name]!;
    throw new GtopError('internal', `Go 1.${goMinor}: no FuncFlag ${name} in the layout table`);
  };
  return { topFrame: need('topframe'), spWrite: need('spwrite'), asm: need('asm') };
}
