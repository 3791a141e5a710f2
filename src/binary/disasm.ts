// x86-64 decoding for the few places gtop reads machine code: locating
// runtime globals in stripped binaries (globals.ts) and placing uprobes on
// RET instructions (src/bpf). iced-x86 is a wasm build whose objects live in
// wasm memory, so each function is decoded into plain JS records and every
// iced object is freed before returning.
import { Decoder, DecoderOptions, FlowControl, Instruction, MemorySizeExt, Mnemonic, OpKind, Register } from 'iced-x86';
import { BinaryFormatError } from '../errors.ts';

export type Flow = 'next' | 'branch' | 'indirect-branch' | 'cond-branch' | 'return' | 'call' | 'indirect-call' | 'interrupt' | 'other';

export type Operand =
  | { readonly kind: 'reg'; readonly reg: string }
  | { readonly kind: 'imm'; readonly value: number }
  | { readonly kind: 'branch'; readonly target: number }
  /** `rip` is the absolute target of a RIP-relative operand; base/index are '' when absent. */
  | { readonly kind: 'mem'; readonly base: string; readonly index: string; readonly scale: number; readonly disp: number; readonly size: number; readonly rip: number | undefined };

export interface Instr {
  readonly ip: number;
  readonly length: number;
  /** iced mnemonic, lower case ('mov', 'lea', 'xchg', 'jae', 'ret', …); 'invalid' for undecodable bytes. */
  readonly mnemonic: string;
  readonly flow: Flow;
  readonly operands: readonly Operand[];
  /** Absolute address of the RIP-relative memory operand, if any. */
  readonly ripTarget: number | undefined;
  /** First immediate operand as a signed 64-bit value (imm32 forms are not sign-extended by iced unless encoded so). */
  readonly immediate: number | undefined;
  /** Register operands by name, in operand order. */
  readonly regs: readonly string[];
  /** Target of a direct near JMP/Jcc/CALL. */
  readonly branchTarget: number | undefined;
  readonly isNop: boolean;
  readonly isJmp: boolean;
  readonly isJcc: boolean;
  readonly isCall: boolean;
  readonly isRet: boolean;
  readonly isPush: boolean;
  readonly hasLock: boolean;
}

// Larger than any Go runtime function; a bigger range means a bad function table.
const MAX_CODE = 4 << 20;

const FLOW: Record<number, Flow> = {
  [FlowControl.Next]: 'next',
  [FlowControl.UnconditionalBranch]: 'branch',
  [FlowControl.IndirectBranch]: 'indirect-branch',
  [FlowControl.ConditionalBranch]: 'cond-branch',
  [FlowControl.Return]: 'return',
  [FlowControl.Call]: 'call',
  [FlowControl.IndirectCall]: 'indirect-call',
  [FlowControl.Interrupt]: 'interrupt',
};

/** Decodes `code` (the bytes of one function) as if loaded at `entry`. */
export function decodeFunction(code: Uint8Array, entry: number): Instr[] {
  if (code.length > MAX_CODE) throw new BinaryFormatError(`function at 0x${entry.toString(16)} claims ${code.length} bytes of code`);
  const out: Instr[] = [];
  const decoder = new Decoder(64, code, DecoderOptions.None);
  const ins = new Instruction();
  try {
    decoder.ip = BigInt(entry);
    while (decoder.canDecode) {
      decoder.decodeOut(ins);
      out.push(record(ins));
    }
  } finally {
    ins.free();
    decoder.free();
  }
  return out;
}

function record(ins: Instruction): Instr {
  const ip = Number(ins.ip);
  const mnemonic = ins.isInvalid ? 'invalid' : (Mnemonic[ins.mnemonic] ?? 'unknown').toLowerCase();
  const flow = ins.isInvalid ? 'other' : FLOW[ins.flowControl] ?? 'other';
  const operands: Operand[] = [];
  for (let i = 0; i < ins.opCount; i++) operands.push(operand(ins, i));
  let ripTarget: number | undefined;
  let immediate: number | undefined;
  let branchTarget: number | undefined;
  const regs: string[] = [];
  for (const op of operands) {
    if (op.kind === 'mem' && op.rip !== undefined) ripTarget ??= op.rip;
    else if (op.kind === 'imm') immediate ??= op.value;
    else if (op.kind === 'branch') branchTarget ??= op.target;
    else if (op.kind === 'reg') regs.push(op.reg);
  }
  return {
    ip, length: ins.length, mnemonic, flow, operands, ripTarget, immediate, regs, branchTarget,
    isNop: mnemonic === 'nop',
    isJmp: flow === 'branch' || flow === 'indirect-branch',
    isJcc: flow === 'cond-branch',
    isCall: flow === 'call' || flow === 'indirect-call',
    isRet: flow === 'return',
    isPush: mnemonic === 'push',
    hasLock: ins.hasLockPrefix,
  };
}

function operand(ins: Instruction, i: number): Operand {
  const kind = ins.opKind(i);
  switch (kind) {
    case OpKind.Register:
      return { kind: 'reg', reg: regName(ins.opRegister(i)) };
    case OpKind.NearBranch16: case OpKind.NearBranch32: case OpKind.NearBranch64:
      return { kind: 'branch', target: Number(ins.nearBranchTarget) };
    case OpKind.Memory: {
      const rip = ins.isIpRelMemoryOperand ? Number(ins.ipRelMemoryAddress) : undefined;
      return {
        kind: 'mem', base: regName(ins.memoryBase), index: regName(ins.memoryIndex), scale: ins.memoryIndexScale,
        disp: rip ?? Number(BigInt.asIntN(64, ins.memoryDisplacement)), size: MemorySizeExt.size(ins.memorySize), rip,
      };
    }
    default:
      if (kind >= OpKind.Immediate8 && kind <= OpKind.Immediate32to64) {
        return { kind: 'imm', value: Number(BigInt.asIntN(64, ins.immediate(i))) };
      }
      // Far branches and string-instruction memory forms: never seen in Go code.
      return { kind: 'reg', reg: '' };
  }
}

function regName(r: Register): string {
  return r === Register.None ? '' : (Register[r] ?? '').toLowerCase();
}

/** The function's instructions as text lines (`0x4012a0  mov rax,[rip+…]`), for diagnostics and tests. */
export function formatInstrs(instrs: readonly Instr[]): string[] {
  return instrs.map((ins) => `0x${ins.ip.toString(16)}  ${ins.mnemonic} ${ins.operands.map(fmtOperand).join(', ')}`.trimEnd());
}

function fmtOperand(op: Operand): string {
  switch (op.kind) {
    case 'reg': return op.reg;
    case 'imm': return op.value < 0 ? `-0x${(-op.value).toString(16)}` : `0x${op.value.toString(16)}`;
    case 'branch': return `0x${op.target.toString(16)}`;
    case 'mem': {
      if (op.rip !== undefined) return `[0x${op.rip.toString(16)}]`;
      const parts = [op.base, op.index ? `${op.index}*${op.scale}` : ''].filter(Boolean);
      if (op.disp) parts.push(op.disp < 0 ? `-0x${(-op.disp).toString(16)}` : `0x${op.disp.toString(16)}`);
      return `[${parts.join('+').replace('+-', '-') || '0'}]`;
    }
  }
}
