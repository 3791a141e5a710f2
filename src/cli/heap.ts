// Garbage collection for the snapshot worker. A 100k-goroutine snapshot
// leaves tens of MB of garbage per refresh, and V8 lets a heap grow to
// several times its live size before a full collection; collected after
// each reply (while the main thread draws it), gtop's resident memory stays
// near what it actually holds. Small heaps are left to V8.
import v8 from 'node:v8';
import vm from 'node:vm';

/** Collect once the heap and its buffers hold this much more than after the last collection. */
const SLACK = 8 << 20;

/** The heap and the ArrayBuffers its objects hold: a snapshot's garbage is mostly typed arrays, freed only when their objects are collected. */
function held(): number {
  const h = v8.getHeapStatistics();
  return h.used_heap_size + h.external_memory;
}

let gc: (() => void) | null | undefined;
let liveAfterLast = 0;

/** A full collection when garbage has piled up (when V8 lets us: else V8 decides alone). */
export function collectGarbage(slack = SLACK): void {
  if (held() < liveAfterLast + slack) return;
  if (gc === undefined) {
    // V8 flags are per process: this exposes gc to new contexts only, not to gtop's own code.
    v8.setFlagsFromString('--expose-gc');
    const f: unknown = vm.runInNewContext('typeof gc === "function" ? gc : null');
    gc = typeof f === 'function' ? (f as () => void) : null;
  }
  if (gc === null) return;
  gc();
  liveAfterLast = held();
}
