// The AttachTarget of a live process from what src/binary and src/target
// already know: functions from pclntab (works on stripped binaries), struct
// offsets from the resolved runtime layout (DWARF or the per-version table).
import type { BinaryInfo } from '../binary/index.ts';
import type { TargetProcess } from '../target/process.ts';
import type { AttachTarget, RuntimeOffsets } from './session.ts';

export function runtimeOffsets(layout: BinaryInfo['layout'], waitReasons: readonly string[] = []): RuntimeOffsets {
  return {
    g_goid: layout.g.goid, g_m: layout.g.m, m_curg: layout.m.curg, g_gopc: layout.g.gopc, g_startpc: layout.g.startpc,
    hchan_lock: layout.hchan.lock,
    // From the binary's own waitReasonStrings: the numbering changes between versions.
    reason_chan_send: waitReasons.indexOf('chan send'), reason_chan_recv: waitReasons.indexOf('chan receive'),
  };
}

export function attachTarget(proc: TargetProcess, bin: BinaryInfo): AttachTarget {
  return {
    pid: proc.pid,
    exePath: proc.exePath,
    elf: bin.elf,
    offsets: runtimeOffsets(bin.layout, bin.waitReasons),
    findFunction: (name) => {
      const fn = bin.pclntab.funcByName(name);
      return fn && { entry: fn.entry, end: fn.end };
    },
    functionAt: (pc) => {
      const fn = bin.pclntab.funcForPC(pc);
      return fn && { name: fn.name, entry: fn.entry, end: fn.end };
    },
  };
}
