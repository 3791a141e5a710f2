// No flicker: on a real terminal (a TTY stream) every refresh is one
// synchronized update (DEC 2026: the terminal shows the erase and the new
// frame at once), never a screen clear, and a refresh that changes nothing
// writes nothing. Checked on the bytes Ink writes with gtop's own options.
import { EventEmitter } from 'node:events';
import test from 'ava';
import type { AppProps } from '../../ui/App.tsx';
import { service } from './goroutines.ts';
import { serviceView } from './render.ts';
import { FakeKeyboard } from '../helpers/keyboard.ts';

// In CI (the CI variable set) Ink draws nothing until exit; gtop clears the
// variable before it loads Ink (src/cli/tui.ts), and so must this test.
for (const k of Object.keys(process.env)) if (k === 'CI' || k === 'CONTINUOUS_INTEGRATION' || k.startsWith('CI_')) delete process.env[k];
const [{ render }, { INK_OPTIONS }, { App }] = await Promise.all([import('ink'), import('../../src/cli/tui.ts'), import('../../ui/App.tsx')]);

class Terminal extends EventEmitter {
  readonly isTTY = true;
  readonly columns = 100;
  readonly rows = 25;
  chunks: string[] = [];
  write(s: string): boolean {
    this.chunks.push(s);
    return true;
  }
  take(): string {
    const all = this.chunks.join('');
    this.chunks = [];
    return all;
  }
}

const BEGIN = '\x1b[?2026h';
const END = '\x1b[?2026l';
const CLEAR_SCREEN = /\x1b\[[23]J/;
const settle = () => new Promise((r) => setTimeout(r, 80)); // past the 30 fps throttle

/** True when every byte of `s` is inside a BEGIN…END pair. */
function synchronized(s: string): boolean {
  return s.startsWith(BEGIN) && s.endsWith(END) && s.split(BEGIN).length === s.split(END).length;
}

test('every refresh is one synchronized update, never a screen clear; an unchanged view writes nothing', async (t) => {
  const term = new Terminal();
  const props = (view = serviceView()): AppProps => ({
    view, pid: 4242, width: 100, height: 24, color: true, refreshSec: 1, onQuit() {}, onDump: () => '', onPause() {},
  });
  const ink = render(<App {...props()} />, { ...INK_OPTIONS, stdout: term as unknown as NodeJS.WriteStream, stdin: new FakeKeyboard() as unknown as NodeJS.ReadStream });
  try {
    await settle();
    const first = term.take();
    t.true(first.includes('chan send'), 'the first frame was drawn');
    t.true(synchronized(first), 'the first frame is one synchronized update');

    ink.rerender(<App {...props()} />);
    await settle();
    t.is(term.take().replaceAll(BEGIN, '').replaceAll(END, ''), '', 'an identical view writes nothing');

    const gs = service();
    gs.find((g) => g.id === 30)!.waitReason = 'select';
    ink.rerender(<App {...props(serviceView(gs))} />);
    await settle();
    const update = term.take();
    t.true(update.includes('select'), 'the changed view was written');
    t.true(synchronized(update), 'the refresh is one synchronized update');
    t.false(CLEAR_SCREEN.test(update), 'no screen clear');
  } finally {
    ink.unmount();
  }
});
