// One clear line when gtop cannot attach probes, checked before libbpf is
// asked for anything (its own failure would name an obscure step).
import { readFileSync } from 'node:fs';
import { GtopError } from '../errors.ts';
import { BpfError } from '../bpf/libbpf.ts';

const CAP_SYS_PTRACE = 19, CAP_SYS_ADMIN = 21, CAP_PERFMON = 38, CAP_BPF = 39;
const PREFIX = 'gtop needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE) to attach probes';

/** Effective capabilities of this process, from /proc/self/status. */
export function effectiveCaps(status = readFileSync('/proc/self/status', 'utf8')): bigint {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return hex ? BigInt(`0x${hex}`) : 0n;
}

/** Throws GtopError('bpf-unavailable') naming the missing capabilities. */
export function requireProbePrivileges(caps = effectiveCaps()): void {
  const has = (bit: number) => ((caps >> BigInt(bit)) & 1n) === 1n;
  const missing: string[] = [];
  if (!has(CAP_BPF) && !has(CAP_SYS_ADMIN)) missing.push('CAP_BPF');
  if (!has(CAP_PERFMON) && !has(CAP_SYS_ADMIN)) missing.push('CAP_PERFMON');
  if (!has(CAP_SYS_PTRACE)) missing.push('CAP_SYS_PTRACE');
  if (missing.length > 0) throw new GtopError('bpf-unavailable', `${PREFIX}: this process lacks ${missing.join(', ')} (run it as root, or use --probes off)`);
}

/** A permission failure from libbpf becomes the same one line. */
export function asBpfUnavailable(err: unknown): unknown {
  if (err instanceof BpfError && err.kind === 'permission') return new GtopError('bpf-unavailable', `${PREFIX}: ${err.message}`, { cause: err });
  return err;
}
