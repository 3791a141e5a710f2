// The AttachTarget of a live process from what src/binary and src/target
// already know: functions from pclntab (works on stripped binaries), struct
// offsets from the resolved runtime layout (DWARF or the per-version table).
import type { BinaryInfo } from '../binary/index.ts';
import type { TargetProcess } from '../target/process.ts';
import type { AttachTarget, RuntimeOffsets } from './session.ts';

export function runtimeOffsets(layout: BinaryInfo['layout']): RuntimeOffsets {
  return { g_goid: layout.g.goid, g_m: layout.g.m, m_curg: layout.m.curg, g_gopc: layout.g.gopc, g_startpc: layout.g.startpc };
}

export function attachTarget(proc: TargetProcess, bin: BinaryInfo): AttachTarget {
  return {
    pid: proc.pid,
    exePath: proc.exePath,
    elf: bin.elf,
    offsets: runtimeOffsets(bin.layout),
    findFunction: (name) => {
      const fn = bin.pclntab.funcByName(name);
      return fn && { entry: fn.entry, end: fn.end };
    },
  };
}
