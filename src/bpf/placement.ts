// Where to put the uprobes of one Go function.
//
// A uprobe is an INT3 over the first byte of an instruction; after the BPF
// program ran, the kernel either emulates that instruction (cheap) or
// single-steps a copy of it out of line (about 5x the cost per hit). Linux
// 6.18's arch/x86/kernel/uprobes.c emulates: NOP (0x90 and the x86_nops
// encodings of 2–8 bytes, branch_setup_xol_ops), JMP rel8/rel32, Jcc
// rel8/rel32, CALL rel32 (branch_xol_ops, no 0x66 prefix) and PUSH r64
// (push_setup_xol_ops: 50–57, 41 50–57). MOV/SUB/LEA/CMP/RET are stepped.
//
// Entry-type probes go on the first such instruction after Go's stack-check
// prologue (CMP SP, 16(R14); JBE morestack), so a morestack round trip can't
// fire the probe twice, and before any register the BPF program reads is
// written. Return-value probes go on every RET (never uretprobes: Go moves
// stacks and migrates goroutines between threads).
import { Decoder, DecoderOptions, FlowControl, Instruction, InstructionInfoFactory, OpAccess, Register, RegisterExt } from 'iced-x86';
import { BinaryFormatError } from '../errors.ts';

/** 64-bit general registers by their lower-case iced name ('rax', 'r14', …). */
export type Reg = string;

/** How the kernel executes a probed instruction (see the header comment). */
export type Emulation = 'nop' | 'jmp' | 'jcc' | 'call' | 'push';

/**
 * What a frame-pointer unwinder sees at the probe: 'established' = BP is this
 * function's frame; 'entry-push' = the probed PUSH RBP, which Linux ≥ 6.10
 * recognises as a function entry (is_uprobe_at_func_entry) and completes with
 * *(SP); 'incomplete' = the immediate caller is missing from the stack.
 */
export type FrameState = 'established' | 'entry-push' | 'incomplete';

/** Where a site's program finds the value it reads: a register, or the 8 bytes at [reg + disp] when disp is set. */
export interface ValueLocation {
  readonly reg: Reg;
  readonly disp?: number;
}

export interface ProbeSite {
  /** Link-time virtual address of the probed instruction. */
  readonly vaddr: number;
  /** Offset from the function entry. */
  readonly offset: number;
  /** The instruction's bytes as hex, e.g. "55". */
  readonly bytes: string;
  readonly emulation: Emulation | undefined;
  readonly frame: FrameState;
  /** For a site reading a result in a caller (result-sites.ts): where the value is. */
  readonly value?: ValueLocation;
  /** The function the site is in, when not the placement's own (a caller). */
  readonly func?: string;
}

export interface Placement {
  readonly func: string;
  readonly kind: 'entry' | 'return';
  readonly sites: readonly ProbeSite[];
  /** Why these sites, in one line (shown by --debug / the report). */
  readonly reason: string;
  readonly warnings: readonly string[];
}

interface Ins {
  ip: number;
  length: number;
  bytes: Uint8Array;
  flow: FlowControl;
  target: number | undefined;
  writes: Set<Reg>;
  isPushRbp: boolean;
  setsFrame: boolean;
}

// Linear sweeps are bounded: Go runtime functions are far smaller.
const MAX_CODE = 1 << 20;
const PROLOGUE_SCAN = 8;
const MORESTACK_SCAN = 48;
const REGION_SCAN = 64;

// The kernel's x86_nops for 64-bit (arch/x86/include/asm/nops.h BYTES_NOP1..8),
// matched byte for byte by branch_setup_xol_ops. Go's assembler pads with the same.
const X86_NOPS = new Set(['90', '6690', '0f1f00', '0f1f4000', '0f1f440000', '660f1f440000', '0f1f8000000000', '0f1f840000000000']);

/** The kernel's emulation of these instruction bytes, or undefined when it single-steps them. */
export function kernelEmulation(b: Uint8Array): Emulation | undefined {
  if (X86_NOPS.has(hex(b))) return 'nop';
  const op = b[0]!;
  if (b.length === 2 && op === 0xeb) return 'jmp';
  if (b.length === 5 && op === 0xe9) return 'jmp';
  if (b.length === 5 && op === 0xe8) return 'call';
  if (b.length === 2 && op >= 0x70 && op <= 0x7f) return 'jcc';
  if (b.length === 6 && op === 0x0f && b[1]! >= 0x80 && b[1]! <= 0x8f) return 'jcc';
  if (b.length === 1 && op >= 0x50 && op <= 0x57) return 'push';
  if (b.length === 2 && op === 0x41 && b[1]! >= 0x50 && b[1]! <= 0x57) return 'push';
  return undefined;
}

/**
 * One probe for a value available at entry: the first kernel-emulated
 * instruction after the stack check that runs exactly once per call and sees
 * every register in `needs` unmodified; a site with an established frame
 * pointer is preferred. Falls back to the entry when there is none, or when
 * `forceEntry` (used to measure the difference).
 */
export function placeEntryProbe(func: string, code: Uint8Array, entry: number, needs: readonly Reg[], forceEntry = false): Placement {
  const ins = decode(code, entry);
  if (ins.length === 0) throw new BinaryFormatError(`${func}: no code at 0x${entry.toString(16)}`);
  const atEntry = (why: string): Placement => ({
    func, kind: 'entry', sites: [site(ins[0]!, entry, 'incomplete')], warnings: [],
    reason: `${why}; probing the entry (${kernelEmulation(ins[0]!.bytes) ?? 'single-stepped'})`,
  });
  if (forceEntry) return atEntry('entry placement forced');

  const start = prologueEnd(ins, entry);
  const targets = branchTargets(ins, entry);
  const need = new Set(needs);
  const candidates: ProbeSite[] = [];
  let frame: 'none' | 'pushed' | 'set' = 'none';
  let stop = '';
  for (let k = 0; k < ins.length && k < start + REGION_SCAN; k++) {
    const i = ins[k]!;
    if (k >= start) {
      if (targets.has(i.ip)) { stop = `0x${i.ip.toString(16)} is a branch target`; break; }
      if (kernelEmulation(i.bytes)) candidates.push(site(i, entry, frameAt(frame, i)));
    }
    const clobbered = [...i.writes].filter((r) => need.has(r));
    if (clobbered.length > 0) { stop = `${clobbered.join(',')} written at +0x${(i.ip - entry).toString(16)}`; break; }
    if (i.isPushRbp && frame === 'none') frame = 'pushed';
    if (i.setsFrame) frame = 'set';
    if (k >= start && i.flow !== FlowControl.Next) { stop = `control flow leaves the straight line at +0x${(i.ip - entry).toString(16)}`; break; }
  }
  const best = candidates.find((c) => c.frame === 'established') ?? candidates.find((c) => c.frame === 'entry-push') ?? candidates[0];
  if (!best) return atEntry(`no emulated instruction after the stack check before ${stop || 'the end of the scan'}`);
  const check = start > 0 ? 'after the stack check' : 'no stack check';
  return { func, kind: 'entry', sites: [best], warnings: [], reason: `${best.emulation} at +0x${best.offset.toString(16)} (${check}, frame ${best.frame})` };
}

/** One probe on every RET of the function, where AX holds the result and *(SP) the return address. */
export function placeReturnProbes(func: string, code: Uint8Array, entry: number): Placement {
  const ins = decode(code, entry);
  const end = entry + code.length;
  const sites = ins.filter((i) => i.flow === FlowControl.Return).map((i) => site(i, entry, 'incomplete'));
  const warnings = ins
    .filter((i) => i.flow === FlowControl.UnconditionalBranch && i.target !== undefined && (i.target < entry || i.target >= end))
    .map((i) => `tail jump at +0x${(i.ip - entry).toString(16)} leaves the function without a RET`);
  if (sites.length === 0) throw new BinaryFormatError(`${func}: no RET instruction in ${code.length} bytes at 0x${entry.toString(16)}`);
  return { func, kind: 'return', sites, warnings, reason: `${sites.length} RET site${sites.length === 1 ? '' : 's'} (single-stepped)` };
}

function frameAt(frame: 'none' | 'pushed' | 'set', i: Ins): FrameState {
  if (frame === 'set') return 'established';
  return frame === 'none' && i.isPushRbp ? 'entry-push' : 'incomplete';
}

function site(i: Ins, entry: number, frame: FrameState): ProbeSite {
  return { vaddr: i.ip, offset: i.ip - entry, bytes: hex(i.bytes), emulation: kernelEmulation(i.bytes), frame };
}

/**
 * Index of the first instruction after the stack check: the conditional
 * branch near the entry whose target block jumps back to the entry (the
 * argument spills, `CALL runtime.morestack`, reloads and `JMP entry` every
 * split function ends with). 0 when the function has no check (nosplit).
 */
function prologueEnd(ins: readonly Ins[], entry: number): number {
  const index = new Map(ins.map((i, k) => [i.ip, k]));
  for (let k = 0; k < ins.length && k < PROLOGUE_SCAN; k++) {
    const i = ins[k]!;
    if (i.flow !== FlowControl.ConditionalBranch || i.target === undefined) continue;
    const t = index.get(i.target);
    if (t === undefined) continue;
    for (let j = t; j < ins.length && j < t + MORESTACK_SCAN; j++) {
      const b = ins[j]!;
      if (b.flow === FlowControl.UnconditionalBranch && b.target === entry) return k + 1;
      if (b.flow === FlowControl.Return || b.flow === FlowControl.UnconditionalBranch) break;
    }
  }
  // A loop back to the entry without a recognisable check: be safe and skip
  // everything up to the first conditional branch.
  if (ins.some((i) => i.flow === FlowControl.UnconditionalBranch && i.target === entry)) {
    const k = ins.findIndex((i, n) => n < PROLOGUE_SCAN && i.flow === FlowControl.ConditionalBranch);
    if (k >= 0) return k + 1;
  }
  return 0;
}

/** Targets of the function's direct branches, except the morestack loop back to the entry. */
function branchTargets(ins: readonly Ins[], entry: number): Set<number> {
  const out = new Set<number>();
  for (const i of ins) if (i.target !== undefined && i.target !== entry && i.flow !== FlowControl.Call) out.add(i.target);
  return out;
}

function decode(code: Uint8Array, entry: number): Ins[] {
  if (code.length > MAX_CODE) throw new BinaryFormatError(`function at 0x${entry.toString(16)} claims ${code.length} bytes of code`);
  return decodeWith(code, entry, record);
}

/** Decodes `code` (at `entry`) instruction by instruction into what `record` keeps of each; frees iced's objects. */
export function decodeWith<T>(code: Uint8Array, entry: number, record: (instr: Instruction, info: InstructionInfoFactory, code: Uint8Array, entry: number) => T): T[] {
  const out: T[] = [];
  const decoder = new Decoder(64, code, DecoderOptions.None);
  const info = new InstructionInfoFactory();
  const instr = new Instruction();
  try {
    decoder.ip = BigInt(entry);
    while (decoder.canDecode) {
      decoder.decodeOut(instr);
      out.push(record(instr, info, code, entry));
    }
  } finally {
    instr.free();
    info.free();
    decoder.free();
  }
  return out;
}

function record(instr: Instruction, info: InstructionInfoFactory, code: Uint8Array, entry: number): Ins {
  const ip = Number(instr.ip);
  const flow = instr.isInvalid ? FlowControl.Exception : instr.flowControl;
  const direct = instr.isJmpShortOrNear || instr.isJccShortOrNear || instr.isCallNear;
  const target = direct ? Number(instr.nearBranchTarget) : undefined;
  const writes = new Set<Reg>();
  const ii = info.info(instr);
  try {
    for (const u of ii.usedRegisters()) {
      if (u.access !== OpAccess.Read && u.access !== OpAccess.CondRead && u.access !== OpAccess.None) {
        writes.add((Register[RegisterExt.fullRegister(u.register)] ?? '').toLowerCase());
      }
      u.free();
    }
  } finally {
    ii.free();
  }
  const bytes = code.subarray(ip - entry, ip - entry + instr.length);
  const isPushRbp = bytes.length === 1 && bytes[0] === 0x55;
  // MOV RBP, RSP (Go ≥ 1.21 frames) or LEA RBP, [RSP+x] (older frames).
  const setsFrame = writes.has('rbp') && !isPushRbp && instr.opCount === 2 &&
    (instr.op1Register === Register.RSP || instr.memoryBase === Register.RSP);
  return { ip, length: instr.length, bytes, flow, target, writes, isPushRbp, setsFrame };
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
