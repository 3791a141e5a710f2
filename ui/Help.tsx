/** @jsxRuntime automatic @jsxImportSource react */
// The key table (also in the README). Any key listed here closes it with Esc or ?.
import { Box, Text } from 'ink';
import { cell, fit } from './text.ts';

export const KEYS: readonly (readonly [string, string])[] = [
  ['↑ ↓  PgUp PgDn  Home End', 'move (j k too); scroll the stack view'],
  ['< >  F6', 'sort by the previous / next column'],
  ['I', 'invert the sort'],
  ['/', 'filter: regex over function (any frame), state and creator; Enter keeps it'],
  ['Esc', 'clear the filter; close a view, back from f'],
  ['g', 'group: none → creation site → top frame → whole stack'],
  ['Enter', 'expand a group; open a goroutine\'s full stack'],
  ['c', 'waits: deadlocks, channels, locks; Enter: who waits'],
  ['f', 'in c: the stack of who did a channel\'s last hand-off'],
  ['l', 'leak suspects; Enter: the evidence'],
  ['d', 'dump every goroutine\'s stack to a file (mode 0600)'],
  ['s', 'show or hide the runtime\'s own goroutines'],
  ['space', 'pause or resume the refresh'],
  ['?', 'this help'],
  ['q  Ctrl-C', 'quit'],
];

const NOTES = [
  '! before an ID: in a deadlock cycle gtop proved (c shows the path).',
  'BLOCKED ~12s: approximate: gtop has seen the goroutine in the same wait at every refresh',
  'for 12 s (it may have run in between), or the runtime says so in minutes.',
  'Without ~ it is exact: a probe timed the park.',
  'Groups list the largest first; members keep the table\'s sort.',
];

export function Help({ width, height }: { width: number; height: number }) {
  const keyW = Math.min(26, Math.max(10, Math.floor(width / 3)));
  // The notes give way to the keys on a short screen.
  const room = height - KEYS.length - 3;
  const notes = room > 0 ? NOTES.slice(0, room) : [];
  return (
    <Box flexDirection="column" height={height} overflow="hidden">
      <Text bold>{fit('keys  (Esc or ? to close)', width)}</Text>
      <Text> </Text>
      {KEYS.map(([k, what]) => (
        <Text key={k} wrap="truncate-end">
          <Text bold>{cell(k, keyW)}</Text> {fit(what, Math.max(0, width - keyW - 1))}
        </Text>
      ))}
      {notes.length > 0 ? <Text> </Text> : null}
      {notes.map((n) => <Text key={n} dimColor wrap="truncate-end">{fit(n, width)}</Text>)}
    </Box>
  );
}
