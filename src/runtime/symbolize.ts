// Physical frames → the frames the runtime prints: inline expansion, the
// frame-hiding rules, name formatting and the creator line. Results are cached
// per pc because 100k goroutines share a few hundred distinct pcs.
import type { GoFunc, Pclntab, SourceFrame } from '../binary/pclntab.ts';
import type { CreatedBy, Frame } from './goroutine.ts';
import type { RuntimeLayout } from './layout.ts';
import { frameLimit, isSystemGoroutine, printedFuncName, showFrame } from './traceback.ts';
import type { Unwinder } from './unwind.ts';

const OLD_MAX_FRAMES = 100;
const MAX_CACHED_STACKS = 100_000;

export interface PrintedStack {
  readonly frames: Frame[];
  readonly elided: boolean;
}

export class Symbolizer {
  private readonly pctab: Pclntab;
  private readonly layout: RuntimeLayout;
  private readonly bias: number;
  private readonly logical = new Map<number, SourceFrame[]>();
  private readonly names = new Map<string, string>();
  private readonly stacks = new Map<number, { pcs: number[]; printed: PrintedStack }[]>();
  private readonly creators = new Map<number, CreatedBy | null>();
  private readonly starts = new Map<number, { name: string | null; system: boolean }>();

  constructor(pctab: Pclntab, layout: RuntimeLayout, bias: number) {
    this.pctab = pctab;
    this.layout = layout;
    this.bias = bias;
  }

  private logicalFrames(fn: GoFunc, lookupPC: number): SourceFrame[] {
    let frames = this.logical.get(lookupPC);
    if (!frames) {
      frames = this.pctab.frames(fn, lookupPC);
      this.logical.set(lookupPC, frames);
    }
    return frames;
  }

  private printName(name: string): string {
    let printed = this.names.get(name);
    if (printed === undefined) {
      printed = printedFuncName(name);
      this.names.set(name, printed);
    }
    return printed;
  }

  /**
   * Printed frames of a walked stack (run-time pcs, innermost first);
   * `elided` when the runtime would cut the middle. Goroutines parked at the
   * same place share one result, which callers must not modify.
   */
  frames(pcs: readonly number[], unwinder: Unwinder): PrintedStack {
    // A numeric hash with an exact comparison: a string key per goroutine
    // would be 100k garbage strings per snapshot.
    const h = hashPcs(pcs);
    let bucket = this.stacks.get(h);
    if (bucket) {
      for (const e of bucket) if (samePcs(e.pcs, pcs)) return e.printed;
    } else {
      if (this.stacks.size > MAX_CACHED_STACKS) this.stacks.clear();
      this.stacks.set(h, (bucket = []));
    }
    const printed = this.computeFrames(pcs, unwinder);
    bucket.push({ pcs: pcs.slice(), printed });
    return printed;
  }

  private computeFrames(allPcs: readonly number[], unwinder: Unwinder): PrintedStack {
    const out: Frame[] = [];
    let calleeID = 0; // FuncIDNormal
    // Up to 1.20 the runtime stops after 100 *physical* frames, hidden ones included.
    const oldLimit = this.layout.goMinor < 21 && allPcs.length >= OLD_MAX_FRAMES;
    const pcs = oldLimit ? allPcs.slice(0, OLD_MAX_FRAMES) : allPcs;
    for (let i = 0; i < pcs.length; i++) {
      const fn = unwinder.funcAt(pcs[i]!)!;
      const physicalOffset = pcs[i]! - this.bias - fn.entry;
      for (const sf of this.logicalFrames(fn, unwinder.lookupPC(pcs, i))) {
        const callee = calleeID;
        calleeID = sf.funcID;
        if (!showFrame(sf.function, sf.funcID, out.length === 0, callee, this.layout)) continue;
        out.push({
          function: this.printName(sf.function),
          file: sf.file,
          line: sf.line,
          inlined: sf.inlined,
          offset: sf.inlined || physicalOffset === 0 ? null : physicalOffset,
        });
      }
    }
    // …and prints its marker only when 100 frames were actually printed.
    if (oldLimit) return { frames: out, elided: out.length >= OLD_MAX_FRAMES };
    const { head, tail } = frameLimit(this.layout.goMinor);
    if (out.length <= head + tail) return { frames: out, elided: false };
    return { frames: [...out.slice(0, head), ...(tail > 0 ? out.slice(out.length - tail) : [])], elided: true };
  }

  /** printcreatedby: hidden for goroutine 1 and for runtime-internal creators. */
  createdBy(gopc: number, goid: number): CreatedBy | null {
    if (goid === 1 || gopc === 0) return null;
    let hit = this.creators.get(gopc);
    if (hit === undefined) this.creators.set(gopc, (hit = this.computeCreatedBy(gopc)));
    return hit;
  }

  private computeCreatedBy(gopc: number): CreatedBy | null {
    const link = gopc - this.bias;
    const fn = this.pctab.funcForPC(link);
    if (!fn || !showFrame(fn.name, fn.funcID, false, 0, this.layout)) return null;
    const lookup = link > fn.entry ? link - 1 : link;
    const pos = this.pctab.fileLine(fn, lookup);
    if (!pos) return null;
    return { function: this.printName(fn.name), file: pos.file, line: pos.line, offset: link > fn.entry ? link - fn.entry : null };
  }

  /** The goroutine's start function (g.startpc) and whether that makes it a system goroutine; cached per pc. */
  startFunction(startpc: number): { name: string | null; system: boolean } {
    let hit = this.starts.get(startpc);
    if (!hit) {
      const name = this.functionName(startpc);
      this.starts.set(startpc, (hit = { name, system: isSystemGoroutine(name) }));
    }
    return hit;
  }

  /** Raw name of the function containing a run-time pc. */
  functionName(pc: number): string | null {
    return this.pctab.funcForPC(pc - this.bias)?.name ?? null;
  }
}

function hashPcs(pcs: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const pc of pcs) {
    h = Math.imul(h ^ (pc >>> 0), 0x01000193);
    h = Math.imul(h ^ Math.floor(pc / 0x100000000), 0x01000193);
  }
  return h >>> 0;
}

function samePcs(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
