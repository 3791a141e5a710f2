// What one probe hit costs the target, in ns of its CPU time: the only
// figures the overhead budget multiplies hit rates by. Source: measured on
// this project's reference machine (a Firecracker VM, Linux 6.18, 2 vCPUs)
// as the target's extra CPU time per operation (schedstat of all its
// threads) with the probes attached vs detached, in alternating phases:
// a probe on a kernel-emulated instruction (NOP, JMP, Jcc, CALL, PUSH) costs
// 0.77–0.94 µs per hit in the Go ping-pong, of which the BPF program itself
// is ~150 ns (bpf_stats run_time_ns/run_cnt, light mode: park and ready emit
// nothing); one on a single-stepped instruction (newproc1's RET, per request
// of an HTTP server under wrk) 21–41 µs. Earlier figures (1.6–2.5 µs) came
// from throughput ratios on a busy machine and counted contention too. The
// upper ends are used so the budget errs on the side of the target.
import type { SiteInfo } from '../bpf/session.ts';

export const COST_NS = {
  /** Kernel-emulated instruction: trap + BPF program + emulation. */
  emulated: 1_000,
  /** Single-stepped instruction: trap + BPF program + a second trap. */
  singleStep: 40_000,
  /** Extra when the park program records a user stack (bpf_get_stackid walk): bench/park-stacks.ts, median 1.78 µs. */
  parkStack: 1_800,
} as const;

export function siteCostNs(site: SiteInfo, parkStacks: boolean): number {
  const base = site.emulation ? COST_NS.emulated : COST_NS.singleStep;
  return base + (parkStacks && site.probe === 'park' ? COST_NS.parkStack : 0);
}
