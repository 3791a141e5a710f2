// Physical frames → the frames the runtime prints: inline expansion, the
// frame-hiding rules, name formatting and the creator line. Results are cached
// per pc because 100k goroutines share a few hundred distinct pcs.
import type { GoFunc, Pclntab, SourceFrame } from '../binary/pclntab.ts';
import type { CreatedBy, Frame } from './goroutine.ts';
import type { RuntimeLayout } from './layout.ts';
import { frameLimit, funcNameForPrint, showFrame } from './traceback.ts';
import type { PhysicalFrame } from './unwind.ts';

const OLD_MAX_FRAMES = 100;

export class Symbolizer {
  private readonly pctab: Pclntab;
  private readonly layout: RuntimeLayout;
  private readonly bias: number;
  private readonly logical = new Map<number, SourceFrame[]>();
  private readonly names = new Map<string, string>();

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
      printed = funcNameForPrint(name, this.layout.goMinor);
      this.names.set(name, printed);
    }
    return printed;
  }

  /** Printed frames, innermost first; `elided` when the runtime would cut the middle. */
  frames(physical: readonly PhysicalFrame[]): { frames: Frame[]; elided: boolean } {
    const out: Frame[] = [];
    let calleeID = 0; // FuncIDNormal
    // Up to 1.20 the runtime stops after 100 *physical* frames, hidden ones included.
    const oldLimit = this.layout.goMinor < 21 && physical.length >= OLD_MAX_FRAMES;
    if (oldLimit) physical = physical.slice(0, OLD_MAX_FRAMES);
    for (const pf of physical) {
      for (const sf of this.logicalFrames(pf.fn, pf.lookupPC)) {
        const callee = calleeID;
        calleeID = sf.funcID;
        if (!showFrame(sf.function, sf.funcID, out.length === 0, callee, this.layout)) continue;
        const physicalOffset = pf.pc - this.bias - pf.fn.entry;
        out.push({
          function: this.printName(sf.function),
          file: sf.file,
          line: sf.line,
          inlined: sf.inlined,
          offset: sf.inlined || physicalOffset === 0 ? null : physicalOffset,
        });
      }
    }
    if (oldLimit) return { frames: out, elided: true };
    const { head, tail } = frameLimit(this.layout.goMinor);
    if (out.length <= head + tail) return { frames: out, elided: false };
    return { frames: [...out.slice(0, head), ...(tail > 0 ? out.slice(out.length - tail) : [])], elided: true };
  }

  /** printcreatedby: hidden for goroutine 1 and for runtime-internal creators. */
  createdBy(gopc: number, goid: number): CreatedBy | null {
    if (goid === 1 || gopc === 0) return null;
    const link = gopc - this.bias;
    const fn = this.pctab.funcForPC(link);
    if (!fn || !showFrame(fn.name, fn.funcID, false, 0, this.layout)) return null;
    const lookup = link > fn.entry ? link - 1 : link;
    const pos = this.pctab.fileLine(fn, lookup);
    if (!pos) return null;
    return { function: this.printName(fn.name), file: pos.file, line: pos.line, offset: link > fn.entry ? link - fn.entry : null };
  }

  /** Raw name of the function containing a run-time pc. */
  functionName(pc: number): string | null {
    return this.pctab.funcForPC(pc - this.bias)?.name ?? null;
  }
}
