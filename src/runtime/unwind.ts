// Stack unwinding of a goroutine that is not running, the way the runtime's
// printed traceback does it (traceback.go unwinder): SP-based with the pcsp
// table, not frame pointers, so frameless and assembly frames are handled.
import type { GoFunc, Pclntab } from '../binary/pclntab.ts';

export interface PhysicalFrame {
  /** Run-time pc (with load bias): a return address except for the innermost frame. */
  pc: number;
  sp: number;
  fn: GoFunc;
  /** The pc to symbolize (link-time): pc−1 for a return address, as the runtime does. */
  lookupPC: number;
}

export interface StackBounds {
  lo: number;
  hi: number;
}

export interface UnwindResult {
  frames: PhysicalFrame[];
  /** Set when the walk stopped before reaching the goroutine's top frame. */
  error: string | null;
}

const MAX_FRAMES = 4096;
const FUNCFLAG_TOPFRAME = 1;
const FUNCFLAG_SPWRITE = 2;

export interface StackReader {
  u64(addr: number): number;
}

export function unwind(
  pctab: Pclntab,
  bias: number,
  mem: StackReader,
  start: { pc: number; sp: number },
  stack: StackBounds,
): UnwindResult {
  const frames: PhysicalFrame[] = [];
  let { pc, sp } = start;
  // The frame after sigpanic/asyncPreempt was interrupted, not calling: its pc is exact.
  let trapped = false;
  for (let depth = 0; depth < MAX_FRAMES; depth++) {
    if (sp < stack.lo || sp > stack.hi) return { frames, error: `sp 0x${sp.toString(16)} outside the stack` };
    const fn = pctab.funcForPC(pc - bias);
    if (!fn) return { frames, error: frames.length === 0 ? `unknown pc 0x${pc.toString(16)}` : `unexpected return pc 0x${pc.toString(16)}` };
    const link = pc - bias;
    const lookupPC = !trapped && link > fn.entry ? link - 1 : link;
    frames.push({ pc, sp, fn, lookupPC });
    if (fn.flag & FUNCFLAG_TOPFRAME || fn.name === 'runtime.goexit') return { frames, error: null };
    // The runtime refuses to unwind through a function that writes SP, unless it is innermost.
    if (fn.flag & FUNCFLAG_SPWRITE && depth > 0) return { frames, error: `cannot unwind through ${fn.name}` };
    const delta = pctab.spDelta(fn, link);
    if (delta === undefined || delta < 0) return { frames, error: `no sp delta for ${fn.name}` };
    const fp = sp + delta + 8;
    if (fp > stack.hi) return { frames, error: `frame of ${fn.name} leaves the stack` };
    const lr = mem.u64(fp - 8);
    if (lr === 0) return { frames, error: null };
    trapped = fn.name === 'runtime.sigpanic' || fn.name === 'runtime.asyncPreempt';
    pc = lr;
    sp = fp;
  }
  return { frames, error: 'stack too deep' };
}
