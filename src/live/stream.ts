// One --events JSON line per probe event: names instead of numbers (wait
// reason strings, function names from pclntab), channel and goroutine ids,
// and both clocks (monotonic ns as the kernel stamped it, and wall time).
import type { BinaryInfo } from '../binary/index.ts';
import type { BpfEvent } from '../bpf/events.ts';

export interface Clock { mono: number; wall: number }

const hex = (n: number): string => `0x${n.toString(16)}`;

function funcName(bin: BinaryInfo, pc: number): string | null {
  return pc > 0 ? (bin.pclntab.funcForPC(pc)?.name ?? null) : null;
}

export function eventJSON(e: BpfEvent, bin: BinaryInfo, bias: number, clock: Clock): object {
  const base = { kind: e.kind, ts: e.ts, time: new Date(clock.wall + (e.ts - clock.mono) / 1e6).toISOString(), goid: e.goid, tid: e.tid };
  switch (e.kind) {
    case 'park': {
      const reason = bin.waitReasons[e.reason] ?? `waitReason(${e.reason})`;
      const onChan = e.lock !== 0 && (reason === 'chan receive' || reason === 'chan send');
      return { ...base, reason, channel: onChan ? hex(e.lock - bin.layout.hchan.lock) : null, lock: e.lock ? hex(e.lock) : null };
    }
    case 'ready':
      return { ...base, waker: e.waker || null, parkedSeconds: e.parkedNs ? e.parkedNs / 1e9 : null };
    case 'create':
      return { ...base, parent: e.parent || null, function: funcName(bin, e.startpc - bias), createdBy: funcName(bin, e.gopc - 1 - bias) };
    case 'exit':
      return { ...base, lifetimeSeconds: e.lifetimeNs ? e.lifetimeNs / 1e9 : null };
    default:
      return { ...base, channel: hex(e.chan), createdBy: funcName(bin, e.callerPc - 1 - bias) };
  }
}
