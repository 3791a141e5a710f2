// Probes that read a function's result in its callers instead of on its RETs.
//
// A RET is single-stepped by the kernel (~20–40 µs a hit here) while NOP,
// JMP/Jcc, CALL rel32 and PUSH are emulated (~1 µs). Right after `CALL f`
// the result is in AX; the caller moves it around (to BX for the next call's
// second argument, to a stack slot) and soon reaches an emulated instruction.
// For runtime.newproc1 that is, in runtime.newproc.func1, the CALL runqput
// (or the NOP padding before it) with the new g in BX; in the other callers
// (newcoro, synctest, debugCallWrap) a Jcc with it still in AX, or a CALL
// with it in a stack slot. The result is tracked through register and
// stack-slot moves along the straight line after the call, so the site sees
// it exactly once per return; any caller without such a site means the RET
// placement is used instead (a caller left unprobed would lose events).
import { Code, FlowControl, Instruction, InstructionInfoFactory, MemorySizeExt, OpAccess, OpKind, Register, RegisterExt } from 'iced-x86';
import { type Placement, type ProbeSite, type Reg, type ValueLocation, decodeWith, hex, kernelEmulation } from './placement.ts';

/** A function of the target: where its code is and its bytes. */
export interface CallerCode {
  readonly name: string;
  readonly entry: number;
  readonly code: Uint8Array;
}

// Straight-line instructions scanned after the call; Go reaches a use within a few.
const SCAN = 32;
// Registers in the order a site prefers them when the result is in several.
const PREFERRED: readonly Reg[] = ['rax', 'rbx', 'rcx', 'rdi', 'rsi', 'r8', 'r9', 'r10', 'r11', 'rdx', 'r12', 'r13', 'r15'];

/**
 * Link-time addresses of the `CALL rel32` instructions (E8) in `text` whose
 * target is `callee`: a byte scan, so a hit may sit inside another
 * instruction; placeResultProbes only uses those its decoding confirms.
 */
export function findCallSites(text: Uint8Array, textStart: number, callee: number): number[] {
  const buf = Buffer.from(text.buffer, text.byteOffset, text.byteLength);
  const out: number[] = [];
  for (let i = buf.indexOf(0xe8); i >= 0 && i + 5 <= buf.length; i = buf.indexOf(0xe8, i + 1)) {
    if (textStart + i + 5 + buf.readInt32LE(i + 1) === callee) out.push(textStart + i);
  }
  return out;
}

/** Bytes of code scanned for calls at a time. */
const SCAN_CHUNK = 1 << 20;

/**
 * findCallSites over `size` bytes of code at `start`, read in pieces through
 * `read`: the executable segment of a large binary is tens of MB, read from
 * the file.
 */
export function callSitesIn(read: (addr: number, len: number) => Uint8Array, start: number, size: number, callee: number, chunk = SCAN_CHUNK): number[] {
  const out: number[] = [];
  for (let off = 0; off < size; off += chunk) {
    // 4 bytes more: a CALL (5 bytes) that starts in this piece may end in the next.
    const at = start + off;
    for (const pc of findCallSites(read(at, Math.min(chunk + 4, size - off)), at, callee)) if (pc < at + chunk) out.push(pc);
  }
  return out;
}

/**
 * One site per call of `callee` in `callers`, each with where the result is
 * at that site (ProbeSite.value); `failed` with the reason when any call has
 * none (or there is no call at all).
 */
export function placeResultProbes(callee: string, calleeEntry: number, callers: readonly CallerCode[]): Placement | { failed: string } {
  const sites: ProbeSite[] = [];
  const how: string[] = [];
  const warnings: string[] = [];
  for (const caller of callers) {
    const ins = decode(caller.code, caller.entry);
    const targets = new Set<number>();
    for (const i of ins) if (i.target !== undefined && i.flow !== FlowControl.Call) targets.add(i.target);
    let calls = 0;
    for (let k = 0; k < ins.length; k++) {
      const c = ins[k]!;
      if (c.flow !== FlowControl.Call || c.target !== calleeEntry) continue;
      calls++;
      const at = `${caller.name}+0x${(c.ip - caller.entry).toString(16)}`;
      const found = follow(ins, k + 1, targets);
      if ('failed' in found) return { failed: `after CALL ${callee} at ${at}: ${found.failed}` };
      const { i, value } = found;
      sites.push({ vaddr: i.ip, offset: i.ip - caller.entry, bytes: hex(i.bytes), emulation: kernelEmulation(i.bytes), frame: 'incomplete', value, func: caller.name });
      how.push(`${kernelEmulation(i.bytes)} at ${caller.name}+0x${(i.ip - caller.entry).toString(16)} (${showLocation(value)})`);
    }
    // A byte match of findCallSites inside another instruction.
    if (calls === 0) warnings.push(`${caller.name}: no CALL ${callee} on an instruction boundary`);
  }
  if (sites.length === 0) return { failed: `no caller of ${callee}` };
  return { func: callee, kind: 'return', sites, warnings, reason: `result of ${callee} read in its callers: ${how.join(', ')}` };
}

export function showLocation(v: ValueLocation): string {
  if (v.disp === undefined) return v.reg.toUpperCase();
  return `[${v.reg.toUpperCase()}${v.disp >= 0 ? '+' : '-'}0x${Math.abs(v.disp).toString(16)}]`;
}

interface Ins {
  ip: number;
  bytes: Uint8Array;
  flow: FlowControl;
  target: number | undefined;
  /** Full 64-bit registers written (lower-case iced names). */
  writes: Reg[];
  /** [disp, disp + size) of every memory write based on RSP without index; undefined: writes RSP itself. */
  stackWrites: [number, number][] | undefined;
  /** MOV r64, r64 / MOV [RSP+d], r64 / MOV r64, [RSP+d]: the copy it makes. */
  copy?: { from: Reg | number; to: Reg | number };
}

/** Follows the result (AX after the call) to the first emulated instruction that sees it. */
function follow(ins: readonly Ins[], from: number, targets: ReadonlySet<number>): { i: Ins; value: ValueLocation } | { failed: string } {
  const regs = new Set<Reg>(['rax']);
  const slots = new Set<number>();
  for (let k = from; k < ins.length && k < from + SCAN; k++) {
    const i = ins[k]!;
    const where = `+0x${(i.ip - ins[0]!.ip).toString(16)}`;
    // Reached from elsewhere too: it would fire for other paths.
    if (targets.has(i.ip)) return { failed: `${where} is a branch target` };
    if (kernelEmulation(i.bytes)) {
      const reg = PREFERRED.find((r) => regs.has(r));
      if (reg) return { i, value: { reg } };
      const slot = [...slots].sort((a, b) => a - b)[0];
      if (slot !== undefined) return { i, value: { reg: 'rsp', disp: slot } };
    }
    const copied = i.copy && (typeof i.copy.from === 'string' ? regs.has(i.copy.from) : slots.has(i.copy.from));
    for (const r of i.writes) regs.delete(r);
    if (i.stackWrites === undefined) slots.clear();
    else for (const [lo, hi] of i.stackWrites) for (const s of slots) if (s < hi && lo < s + 8) slots.delete(s);
    if (copied) {
      if (typeof i.copy!.to === 'string') regs.add(i.copy!.to);
      else slots.add(i.copy!.to);
    }
    if (regs.size === 0 && slots.size === 0) return { failed: `the result is overwritten at ${where}` };
    if (i.flow !== FlowControl.Next) return { failed: `control flow leaves the straight line at ${where} before an emulated instruction` };
  }
  return { failed: `no emulated instruction within ${SCAN} instructions` };
}

function decode(code: Uint8Array, entry: number): Ins[] {
  return decodeWith(code, entry, record);
}

const regName = (r: Register): Reg => (Register[RegisterExt.fullRegister(r)] ?? '').toLowerCase();
const written = (a: OpAccess) => a !== OpAccess.Read && a !== OpAccess.CondRead && a !== OpAccess.None && a !== OpAccess.NoMemAccess;

function record(instr: Instruction, info: InstructionInfoFactory, code: Uint8Array, entry: number): Ins {
  const ip = Number(instr.ip);
  const flow = instr.isInvalid ? FlowControl.Exception : instr.flowControl;
  const direct = instr.isJmpShortOrNear || instr.isJccShortOrNear || instr.isCallNear;
  const writes: Reg[] = [];
  let stackWrites: [number, number][] | undefined = [];
  const ii = info.info(instr);
  try {
    for (const u of ii.usedRegisters()) {
      if (written(u.access)) writes.push(regName(u.register));
      u.free();
    }
    for (const m of ii.usedMemory()) {
      if (written(m.access) && m.base === Register.RSP && m.index === Register.None) {
        const d = Number(BigInt.asIntN(64, m.displacement));
        stackWrites?.push([d, d + Math.max(MemorySizeExt.size(m.memorySize), 1)]);
      }
      m.free();
    }
  } finally {
    ii.free();
  }
  // PUSH/POP/SUB SP move the frame the slots are relative to (CALL's push is undone by its RET).
  if (writes.includes('rsp') && flow !== FlowControl.Call) stackWrites = undefined;
  const rec: Ins = { ip, bytes: code.subarray(ip - entry, ip - entry + instr.length), flow, target: direct ? Number(instr.nearBranchTarget) : undefined, writes, stackWrites };
  const stackSlot = (): number | undefined =>
    instr.memoryBase === Register.RSP && instr.memoryIndex === Register.None ? Number(BigInt.asIntN(64, instr.memoryDisplacement)) : undefined;
  if (instr.code === Code.Mov_rm64_r64 || instr.code === Code.Mov_r64_rm64) {
    // Intel operand order: op0 is the destination in both encodings.
    const src = 1;
    const dst = 0;
    const kind = (n: number) => (n === 0 ? instr.op0Kind : instr.op1Kind);
    const reg = (n: number) => regName(n === 0 ? instr.op0Register : instr.op1Register);
    const from = kind(src) === OpKind.Register ? reg(src) : stackSlot();
    const to = kind(dst) === OpKind.Register ? reg(dst) : stackSlot();
    if (from !== undefined && to !== undefined) rec.copy = { from, to };
  }
  return rec;
}
