// Waiting for a test program's stdout lines: `line(re)` resolves with the
// first unread line matching `re` and consumes everything up to it, so
// successive waits see later output only.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export type LineWaiter = (re: RegExp) => Promise<RegExpExecArray>;

export function lineWaiter(child: ChildProcess, timeoutMs: number): LineWaiter {
  const seen: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (l) => { seen.push(l); for (const w of waiters) w(); });
  return (re) => new Promise<RegExpExecArray>((resolve, reject) => {
    const check = () => {
      const i = seen.findIndex((l) => re.test(l));
      if (i < 0) return;
      const m = re.exec(seen[i]!)!;
      seen.splice(0, i + 1);
      done();
      resolve(m);
    };
    const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${re}: ${JSON.stringify(seen.slice(-5))}`)); }, timeoutMs);
    const done = () => { clearTimeout(timer); waiters.delete(check); };
    waiters.add(check);
    check();
  });
}
