// What one probe hit costs the target, in ns of its CPU time: the only
// figures the overhead budget multiplies hit rates by. Source: measured on
// this project's reference machine (a Firecracker VM, Linux 6.18) with a Go
// channel ping-pong, attached vs not (test/go/events `pingpong`, and
// bench/overhead.ts): a probe on a kernel-emulated instruction (NOP, JMP,
// Jcc, CALL, PUSH) cost 1.6–2.5 µs per hit; one on a single-stepped
// instruction (a RET, or an entry SUBQ) 21–26 µs. The upper ends are used
// so the budget errs on the side of the target.
import type { SiteInfo } from '../bpf/session.ts';

export const COST_NS = {
  /** Kernel-emulated instruction: trap + BPF program + emulation. */
  emulated: 2_500,
  /** Single-stepped instruction: trap + BPF program + a second trap. */
  singleStep: 26_000,
  /** Extra when the park program records a user stack (bpf_get_stackid walk): bench/park-stacks.ts, median 1.78 µs. */
  parkStack: 1_800,
} as const;

export function siteCostNs(site: SiteInfo, parkStacks: boolean): number {
  const base = site.emulation ? COST_NS.emulated : COST_NS.singleStep;
  return base + (parkStacks && site.probe === 'park' ? COST_NS.parkStack : 0);
}
