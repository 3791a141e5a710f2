// Turns what the probes recorded as raw run-time pcs into source positions:
// the make site of a channel (the makechan return address) and the user stack
// of a park (bpf_get_stackid, frame-pointer walk). Both go through pclntab
// with inline expansion; results are cached per pc / per stack id.
import type { BinaryInfo } from '../binary/index.ts';
import type { ChanStats } from '../bpf/events.ts';
import type { ChannelActivity, ChannelTouch } from '../model/probe.ts';
import type { Frame } from '../runtime/goroutine.ts';
import { printedFuncName, showFrame } from '../runtime/traceback.ts';

export interface CallSite { function: string; file: string; line: number }

const MAX_CACHED = 4096;

export class ProbeSymbols {
  private readonly sites = new Map<number, CallSite | null>();
  private readonly stacks = new Map<string, Frame[]>();

  constructor(private readonly bin: BinaryInfo, private readonly bias: number) {}

  /**
   * The source position of a call, from its return address: the innermost
   * logical frame that is not the runtime's (make(chan) may be inlined into
   * the user's function; makechan64/reflect.makechan callers have none and
   * give their own frame).
   */
  callSite(retAddr: number): CallSite | null {
    let hit = this.sites.get(retAddr);
    if (hit === undefined) {
      if (this.sites.size >= MAX_CACHED) this.sites.clear();
      this.sites.set(retAddr, (hit = this.computeCallSite(retAddr)));
    }
    return hit;
  }

  private computeCallSite(retAddr: number): CallSite | null {
    const link = retAddr - this.bias;
    const fn = this.bin.pclntab.funcForPC(link);
    if (!fn) return null;
    const frames = this.bin.pclntab.frames(fn, link > fn.entry ? link - 1 : link);
    const f = frames.find((sf) => !sf.function.startsWith('runtime.')) ?? frames[0];
    return f ? { function: printedFuncName(f.function), file: f.file, line: f.line } : null;
  }

  /**
   * A park-time user stack (run-time pcs, innermost first: the probe's pc,
   * then return addresses) as the runtime would print it: inlined frames
   * expanded, wrappers and other hidden frames dropped by the same rules as
   * the snapshot's traceback. Cached per distinct stack.
   */
  stack(pcs: readonly number[]): Frame[] {
    const key = pcs.join(',');
    let hit = this.stacks.get(key);
    if (!hit) {
      if (this.stacks.size >= MAX_CACHED) this.stacks.clear();
      this.stacks.set(key, (hit = this.computeStack(pcs)));
    }
    return hit;
  }

  private computeStack(pcs: readonly number[]): Frame[] {
    const out: Frame[] = [];
    let calleeID = 0; // FuncIDNormal
    for (let i = 0; i < pcs.length; i++) {
      const link = pcs[i]! - this.bias;
      const fn = this.bin.pclntab.funcForPC(link);
      if (!fn) break; // outside Go code (a cgo or corrupt frame): the walk is not trustworthy past it
      // Frame 0 is the probed instruction itself; the others are return addresses (the call is the byte before).
      const lookup = i > 0 && link > fn.entry ? link - 1 : link;
      const offset = link - fn.entry;
      for (const sf of this.bin.pclntab.frames(fn, lookup)) {
        const callee = calleeID;
        calleeID = sf.funcID;
        if (!showFrame(sf.function, sf.funcID, out.length === 0, callee, this.bin.layout)) continue;
        out.push({ function: printedFuncName(sf.function), file: sf.file, line: sf.line, inlined: sf.inlined, offset: sf.inlined || offset === 0 ? null : offset });
      }
    }
    return out;
  }
}

/**
 * ChannelActivity from a chan_stats entry. `opsExact(sinceNs)` says whether
 * chansend and chanrecv were attached without a break since then.
 */
export function channelActivity(s: ChanStats, made: CallSite | null, opsExact: (sinceNs: number) => boolean, startNs: number): ChannelActivity {
  const touch = (atNs: number, goid: number): ChannelTouch | undefined => (atNs > 0 ? { goid, atNs } : undefined);
  const a: ChannelActivity = {
    sends: s.sends,
    recvs: s.recvs,
    // Since the make when the probe saw it, else since the watch began (it existed before).
    opsExact: opsExact(s.madeTs > 0 ? Math.max(s.madeTs, startNs) : startNs),
    parks: s.parks,
    wakes: s.wakes,
  };
  if (s.madeTs > 0) {
    a.made = { atNs: s.madeTs, goid: s.madeGoid, pc: s.madePc > 0 ? s.madePc - 1 : 0, function: made?.function ?? '?', file: made?.file ?? '?', line: made?.line ?? 0 };
  }
  const send = touch(s.lastSendTs, s.lastSendGoid);
  if (send) a.lastSend = send;
  const recv = touch(s.lastRecvTs, s.lastRecvGoid);
  if (recv) a.lastRecv = recv;
  if (s.lastWakeTs > 0) a.lastWake = { atNs: s.lastWakeTs, waker: s.lastWakeWaker, woken: s.lastWakeWoken };
  const closed = touch(s.closedTs, s.closedGoid);
  if (closed) a.closed = closed;
  return a;
}
