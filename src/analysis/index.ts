// What goroutines wait on: channels, sync objects, deadlock cycles gtop can
// prove, and leak suspects over time. See README.md "Channels, locks, leak
// suspects" for the JSON and docs/ARCHITECTURE.md for where it sits.
export type { Channel, ChanWaiter, GoroutineWait, LockKind, LockMode, LockObject, LockWaiter, WaitGraph, WaitReason, WaitTarget } from './model.ts';
export { classifyReason } from './model.ts';
export { type WaitSource, readWaits } from './waits.ts';
export { type Reachability, type ReachOptions, scanReachability, targetKey } from './reach.ts';
export { type DeadlockCycle, type DeadlockStep, findDeadlocks } from './deadlock.ts';
export { type LeakSite, type LeakSuspect, type LeakTrackerOptions, LeakTracker, fmtDuration } from './leaks.ts';
export * from './json.ts';
