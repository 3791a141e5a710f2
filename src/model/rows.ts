// One table row per goroutine: the columns the view sorts, filters and shows,
// computed once per snapshot. Stacks are shared between goroutines parked at
// the same place (the symbolizer caches them), so everything derived from a
// stack is cached per frames array.
import type { CreatedBy, Frame, Goroutine } from '../runtime/goroutine.ts';

export interface GoroutineRow {
  readonly g: Goroutine;
  readonly id: number;
  /** The wait reason when waiting, else the status. */
  readonly state: string;
  /** How long it has been blocked, null when it is not blocked. */
  readonly blockedMs: number | null;
  /** True when a probe timed the park; false when derived from snapshots (a lower bound). */
  readonly blockedExact: boolean;
  /** The top user frame (function and file:line); null when there is no stack. */
  readonly location: Frame | null;
  readonly creator: CreatedBy | null;
  /** The channel it waits on, when a probe saw it. */
  readonly channel: number | null;
}

/** Statuses in which a goroutine is blocked rather than running or ready to run. */
export function isBlockedStatus(status: Goroutine['status']): boolean {
  return status === 'waiting' || status === 'syscall' || status === 'leaked';
}

export function stateOf(g: Goroutine): string {
  if (g.waitReason === null) return g.status;
  return g.status === 'leaked' ? `${g.waitReason} (leaked)` : g.waitReason;
}

/** "net/http.(*conn).serve" → "net/http"; "main.main" → "main". */
export function packageOf(fn: string): string {
  const slash = fn.lastIndexOf('/');
  const dot = fn.indexOf('.', slash + 1);
  return dot < 0 ? fn : fn.slice(0, dot);
}

/**
 * User code: package main, the main module, or any path whose first element
 * has a dot (a domain). The standard library has no dot there.
 */
export function isUserFunction(fn: string, module: string | null): boolean {
  const pkg = packageOf(fn);
  if (pkg === 'main' || pkg.startsWith('main.')) return true;
  if (module !== null && module !== '' && (pkg === module || pkg.startsWith(`${module}/`))) return true;
  const first = pkg.split('/', 1)[0]!;
  return first.includes('.');
}

const locationCache = new WeakMap<readonly Frame[], Map<string | null, Frame | null>>();

/**
 * The frame that says where a goroutine is: the innermost user frame; with
 * none (a standard-library goroutine), the outermost frame, which names what
 * the goroutine is (e.g. net/http.(*conn).serve).
 */
export function topUserFrame(frames: readonly Frame[], module: string | null): Frame | null {
  let byModule = locationCache.get(frames);
  if (byModule === undefined) locationCache.set(frames, (byModule = new Map()));
  let hit = byModule.get(module);
  if (hit === undefined) {
    hit = frames.find((f) => isUserFunction(f.function, module)) ?? frames[frames.length - 1] ?? null;
    byModule.set(module, hit);
  }
  return hit;
}

export function basename(file: string): string {
  return file.slice(file.lastIndexOf('/') + 1);
}

const texts = new WeakMap<Frame | CreatedBy, string>();

/** "main.worker main.go:42"; cached, since frames and creators are shared objects. */
export function locationText(f: Frame | CreatedBy | null): string {
  if (f === null) return '';
  let t = texts.get(f);
  if (t === undefined) texts.set(f, (t = `${f.function} ${basename(f.file)}:${f.line}`));
  return t;
}
