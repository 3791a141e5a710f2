// Helpers for the component tests: a model view of the small service in
// goroutines.ts, and key presses that wait for Ink to handle them.
import { setTimeout as sleep } from 'node:timers/promises';
import type { render } from 'ink-testing-library';
import { LiveModel, type ModelView } from '../../src/model/live.ts';
import type { Goroutine } from '../../src/runtime/goroutine.ts';
import { service, snapshot } from './goroutines.ts';

export const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);

/** The service seen twice, 5 s apart (so blocked times are 5 s, or the runtime's 3 minutes). */
export function serviceView(gs: Goroutine[] = service()): ModelView {
  const m = new LiveModel();
  const proc = { pid: 4242, name: 'app', uptimeSec: 3725 };
  m.ingest(snapshot(gs, new Date(T0)), proc, T0);
  return m.ingest(snapshot(gs, new Date(T0 + 5000)), proc, T0 + 5000);
}

export const KEY = {
  up: '\x1b[A',
  down: '\x1b[B',
  pageDown: '\x1b[6~',
  end: '\x1b[F',
  home: '\x1b[H',
  enter: '\r',
  esc: '\x1b',
  f6: '\x1b[17~',
  backspace: '\x7f',
  ctrlC: '\x03',
};

type Rendered = Pick<ReturnType<typeof render>, 'stdin' | 'frames'>;

/**
 * Types keys one at a time, each once the previous one has been handled:
 * waits for Ink to subscribe to stdin, then after each key for a new frame
 * (or 1 s, for keys that change nothing on screen).
 */
export async function press(r: Rendered, ...keys: string[]): Promise<void> {
  for (let i = 0; i < 200 && r.stdin.listenerCount('readable') === 0; i++) await sleep(5);
  await sleep(20); // the keymap's own effects run after Ink's
  for (const k of keys) {
    const before = r.frames.length;
    r.stdin.write(k);
    // A lone Esc is only known not to start a sequence on the next turn of the loop.
    for (let i = 0; i < 200 && r.frames.length === before; i++) await sleep(5);
  }
  await sleep(20); // effects of the last render (e.g. telling the wiring about a pause)
}
