/** @jsxRuntime automatic @jsxImportSource react */
// A list of entries, each one line, the open one followed by its details:
// the body of the channel (c) and leak-suspect (l) views. The first line is
// the column titles and stays; the list scrolls to keep the cursor's entry
// (and its details, when they fit) on screen.
import { Box, Text } from 'ink';
import { fit } from './text.ts';

export interface ListLine {
  readonly text: string;
  /** entry: the selectable line; sub: more of the entry, always shown; alert: an entry that must stand out (a deadlock); heading: a section's column titles. */
  readonly kind: 'entry' | 'sub' | 'alert' | 'detail' | 'note' | 'heading';
  /** The entry it belongs to (index in the view's keys); -1 for notes. */
  readonly entry: number;
}

export interface ListViewProps {
  readonly title: string;
  readonly lines: readonly ListLine[];
  readonly cursor: number;
  readonly height: number;
  readonly width: number;
  readonly color: boolean;
}

/** First visible line: the cursor's entry and as much of its details as fit, from the top when all fit. */
export function listTop(lines: readonly ListLine[], cursor: number, rows: number): number {
  const first = lines.findIndex((l) => l.entry === cursor);
  if (first < 0 || lines.length <= rows) return 0;
  let last = first;
  while (last + 1 < lines.length && lines[last + 1]!.entry === cursor) last++;
  return Math.max(0, Math.min(first, last - rows + 1, lines.length - rows));
}

function Line({ line, selected, width, color }: { line: ListLine; selected: boolean; width: number; color: boolean }) {
  const text = fit(line.text, width).padEnd(selected ? width : 0);
  if (selected) return <Text inverse bold={line.kind === 'alert'} wrap="truncate-end">{text}</Text>;
  if (line.kind === 'alert') return <Text bold color={color ? 'red' : undefined} wrap="truncate-end">{text}</Text>;
  if (line.kind === 'heading') return <Text bold wrap="truncate-end">{text}</Text>;
  if (line.kind === 'sub') return <Text dimColor wrap="truncate-end">{text}</Text>;
  if (line.kind === 'detail') return <Text color={color ? 'cyan' : undefined} wrap="truncate-end">{text}</Text>;
  if (line.kind === 'note') return <Text dimColor wrap="truncate-end">{text || ' '}</Text>;
  return <Text wrap="truncate-end">{text}</Text>;
}

export function ListView(p: ListViewProps) {
  const rows = Math.max(1, p.height - 1);
  const top = listTop(p.lines, p.cursor, rows);
  return (
    <Box flexDirection="column" height={p.height}>
      <Text bold wrap="truncate-end">{fit(p.title, p.width)}</Text>
      {p.lines.slice(top, top + rows).map((l, i) => (
        <Line key={top + i} line={l} selected={(l.kind === 'entry' || l.kind === 'alert') && l.entry === p.cursor} width={p.width} color={p.color} />
      ))}
    </Box>
  );
}
