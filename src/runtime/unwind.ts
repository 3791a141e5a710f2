// Stack unwinding of a goroutine that is not running, the way the runtime's
// printed traceback does it (traceback.go unwinder): SP-based with the pcsp
// table, not frame pointers, so frameless and assembly frames are handled.
// 100k goroutines share a few hundred pcs, so what a pc needs (function, sp
// delta) is computed once per session.
import type { GoFunc, Pclntab } from '../binary/pclntab.ts';

export interface StackBounds {
  lo: number;
  hi: number;
}

export interface StackReader {
  /** u64 at addr; -1 for a value that cannot be an address. */
  u64(addr: number): number;
}

const MAX_FRAMES = 4096;
const FUNCFLAG_TOPFRAME = 1;
const FUNCFLAG_SPWRITE = 2;

interface PCInfo {
  fn: GoFunc;
  /** pcsp delta at this pc, or -1 when unknown. */
  delta: number;
  top: boolean;
  spWrite: boolean;
  /** The next frame out was interrupted (sigpanic, asyncPreempt): its pc is exact, not a return address. */
  trap: boolean;
}

export class Unwinder {
  private readonly pctab: Pclntab;
  private readonly bias: number;
  private readonly info = new Map<number, PCInfo | null>();

  constructor(pctab: Pclntab, bias: number) {
    this.pctab = pctab;
    this.bias = bias;
  }

  private pcInfo(pc: number): PCInfo | null {
    let i = this.info.get(pc);
    if (i !== undefined) return i;
    const link = pc - this.bias;
    const fn = this.pctab.funcForPC(link);
    i = fn
      ? {
          fn,
          delta: this.pctab.spDelta(fn, link) ?? -1,
          top: (fn.flag & FUNCFLAG_TOPFRAME) !== 0 || fn.name === 'runtime.goexit',
          spWrite: (fn.flag & FUNCFLAG_SPWRITE) !== 0,
          trap: fn.name === 'runtime.sigpanic' || fn.name === 'runtime.asyncPreempt',
        }
      : null;
    this.info.set(pc, i);
    return i;
  }

  /** Function of a run-time pc (cached). */
  funcAt(pc: number): GoFunc | undefined {
    return this.pcInfo(pc)?.fn;
  }

  /**
   * Walks from (pc, sp) and appends the run-time pc of every physical frame,
   * innermost first, to `pcs`. Returns why it stopped early, or null when it
   * reached the goroutine's top frame.
   */
  walk(mem: StackReader, start: { pc: number; sp: number }, stack: StackBounds, pcs: number[]): string | null {
    let { pc, sp } = start;
    for (let depth = 0; depth < MAX_FRAMES; depth++) {
      if (sp < stack.lo || sp > stack.hi) return `sp 0x${sp.toString(16)} outside the stack`;
      const info = this.pcInfo(pc);
      if (!info) return depth === 0 ? `unknown pc 0x${pc.toString(16)}` : `unexpected return pc 0x${pc.toString(16)}`;
      pcs.push(pc);
      if (info.top) return null;
      // The runtime refuses to unwind through a function that writes SP, unless it is innermost.
      if (info.spWrite && depth > 0) return `cannot unwind through ${info.fn.name}`;
      if (info.delta < 0) return `no sp delta for ${info.fn.name}`;
      const fp = sp + info.delta + 8;
      if (fp > stack.hi) return `frame of ${info.fn.name} leaves the stack`;
      const lr = mem.u64(fp - 8);
      if (lr === 0) return null;
      if (lr < 0) return `bad return address below ${info.fn.name}`;
      pc = lr;
      sp = fp;
    }
    return 'stack too deep';
  }

  /** The pc to symbolize for frame i: pc−1 for a return address, as the runtime does. */
  lookupPC(pcs: readonly number[], i: number): number {
    const pc = pcs[i]!;
    const link = pc - this.bias;
    const info = this.pcInfo(pc)!;
    const trapped = i > 0 && this.pcInfo(pcs[i - 1]!)!.trap;
    return !trapped && link > info.fn.entry ? link - 1 : link;
  }
}
