// The runtime's rules for what a printed traceback shows (traceback.go:
// showfuncinfo, isExportedRuntime, funcNamePiecesForPrint, isSystemGoroutine),
// so that gtop prints the same frames as /debug/pprof/goroutine?debug=2.
import { funcNameForPrint } from '../binary/pclntab.ts';
import type { RuntimeLayout } from './layout.ts';

/** Exported runtime functions and methods on exported types are shown (runtime.Goexit). */
export function isExportedRuntime(name: string): boolean {
  if (!name.startsWith('runtime.') || name.length <= 8) return false;
  let rest = name.slice(8);
  let rcvr = '';
  const dot = rest.lastIndexOf('.');
  if (dot >= 0) {
    rcvr = rest.slice(0, dot);
    rest = rest.slice(dot + 1);
    if (rcvr.length >= 3 && rcvr.startsWith('(*') && rcvr.endsWith(')')) rcvr = rcvr.slice(2, -1);
  }
  const upper = (s: string): boolean => s.length > 0 && s[0]! >= 'A' && s[0]! <= 'Z';
  return upper(rest) && (rcvr === '' || upper(rcvr));
}

/**
 * showfuncinfo at traceback level 1 (what runtime.Stack uses): wrappers are
 * elided unless they called a panic function; runtime internals are hidden.
 */
export function showFrame(name: string, funcID: number, firstFrame: boolean, calleeID: number, layout: RuntimeLayout): boolean {
  const ids = layout.funcID;
  if (funcID === ids.wrapper && calleeID !== ids.gopanic && calleeID !== ids.sigpanic && calleeID !== ids.panicwrap) return false;
  if (name === 'runtime.gopanic' && !firstFrame) return true;
  return name.includes('.') && (!name.startsWith('runtime.') || isExportedRuntime(name));
}

/** Name as printed: generic shapes become F[...] (pclntab's funcNameForPrint), gopanic prints as panic. */
export function printedFuncName(name: string): string {
  return name === 'runtime.gopanic' ? 'panic' : funcNameForPrint(name);
}

const USER_RUNTIME_STARTS = new Set(['runtime.main', 'runtime.corostart', 'runtime.handleAsyncEvent']);

/**
 * isSystemGoroutine by the start function's name. The finalizer and cleanup
 * goroutines count as system (the runtime shows them only while they run user
 * code, which a snapshot cannot tell apart reliably).
 */
export function isSystemGoroutine(startFunction: string | null): boolean {
  if (startFunction === null) return false;
  if (USER_RUNTIME_STARTS.has(startFunction)) return false;
  return startFunction.startsWith('runtime.');
}

/** Printed frames the runtime keeps, first and last, eliding the middle (1.21+; older versions cut by physical frames). */
export function frameLimit(goMinor: number): { head: number; tail: number } {
  return goMinor >= 21 ? { head: 50, tail: 50 } : { head: Infinity, tail: 0 };
}
