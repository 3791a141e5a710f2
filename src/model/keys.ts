// The keymap: one pure function from a key press (as Ink reports it) and the
// current mode to a command, so only the focused view reacts and the whole
// table of keys is tested without a terminal.
import type { Action, Mode } from './view.ts';

/** The parts of Ink's Key this keymap reads. */
export interface KeyPress {
  upArrow: boolean;
  downArrow: boolean;
  leftArrow: boolean;
  rightArrow: boolean;
  pageUp: boolean;
  pageDown: boolean;
  home: boolean;
  end: boolean;
  return: boolean;
  escape: boolean;
  ctrl: boolean;
  backspace: boolean;
  delete: boolean;
  tab: boolean;
  meta: boolean;
}

/** Effects the wiring performs, besides view actions. */
export type Command = Action | { type: 'quit' } | { type: 'dump' };

/** The raw sequence of F6 (Ink's Key has no function keys). */
export const F6 = '\x1b[17~';

export const NO_KEY: KeyPress = {
  upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageUp: false, pageDown: false,
  home: false, end: false, return: false, escape: false, ctrl: false, backspace: false, delete: false, tab: false, meta: false,
};

function movement(key: KeyPress): Command | null {
  if (key.upArrow) return { type: 'move', by: -1 };
  if (key.downArrow) return { type: 'move', by: 1 };
  if (key.pageUp) return { type: 'page', by: -1 };
  if (key.pageDown) return { type: 'page', by: 1 };
  if (key.home) return { type: 'home' };
  if (key.end) return { type: 'end' };
  return null;
}

function filterKey(input: string, key: KeyPress): Command | null {
  if (key.return) return { type: 'filterCommit' };
  if (key.escape) return { type: 'back' };
  if (key.backspace || key.delete) return { type: 'filterBackspace' };
  if (key.ctrl || key.meta || key.tab || input === '') return null;
  // Pasted text, or keys typed faster than they are read, arrive in one
  // piece: a return inside it commits what came before it.
  const end = input.search(/[\r\n]/);
  const text = (end < 0 ? input : input.slice(0, end)).replace(/[\x00-\x1f\x7f]/g, '');
  if (end >= 0) return { type: 'filterType', text, commit: true };
  return text === '' ? null : { type: 'filterType', text };
}

const LETTERS: Record<string, Command> = {
  q: { type: 'quit' },
  '<': { type: 'sort', step: -1 },
  '>': { type: 'sort', step: 1 },
  ',': { type: 'sort', step: -1 },
  '.': { type: 'sort', step: 1 },
  I: { type: 'invert' },
  '/': { type: 'filterOpen' },
  g: { type: 'group' },
  d: { type: 'dump' },
  s: { type: 'system' },
  c: { type: 'channels' },
  l: { type: 'leaks' },
  f: { type: 'follow' },
  ' ': { type: 'pause' },
  '?': { type: 'help' },
  h: { type: 'help' },
  k: { type: 'move', by: -1 },
  j: { type: 'move', by: 1 },
};

export function keyToCommand(mode: Mode, input: string, key: KeyPress): Command | null {
  if (key.ctrl && input === 'c') return { type: 'quit' };
  if (input === F6) return mode === 'table' ? { type: 'sort', step: 1 } : null;
  if (mode === 'filter') return filterKey(input, key);
  const move = movement(key);
  if (move) return move;
  if (key.return) return { type: 'enter' };
  if (key.escape || (mode === 'stack' && key.leftArrow)) return { type: 'back' };
  if (key.ctrl || key.meta) return null;
  return LETTERS[input] ?? null;
}
