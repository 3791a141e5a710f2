/** @jsxRuntime automatic @jsxImportSource react */
// The goroutine table, virtualized: only the `height` items from `top` are
// rendered, whatever the length of the list. Each row is one pre-cut line.
import { Box, Text } from 'ink';
import type { Group, Item, ItemList, SortSpec } from '../src/model/derive.ts';
import { type GoroutineRow, basename } from '../src/model/rows.ts';
import { type Column, tableColumns } from './columns.ts';
import { blockedText, cell, countIn, hex } from './text.ts';

export interface TableProps {
  readonly items: ItemList;
  readonly cursor: number;
  readonly top: number;
  readonly height: number;
  readonly width: number;
  readonly showChannel: boolean;
  readonly sort: SortSpec;
  readonly color: boolean;
  /** Shown when there is nothing to list. */
  readonly empty: string;
  /** When grouped: what the groups are (the title of the label column). */
  readonly groupTitle?: string | null;
  /** Goroutines of proven deadlock cycles: their ID is marked with "!". */
  readonly deadlocked?: ReadonlyMap<number, number>;
}

/** "fn file:line" in `width`: drops the package path, then the start of the function, never the line. */
export function fitLocation(fn: string, file: string, line: number, width: number): string {
  const at = ` ${basename(file)}:${line}`;
  const full = fn + at;
  if (full.length <= width) return full.padEnd(width);
  const short = fn.slice(fn.lastIndexOf('/') + 1);
  if (short.length + at.length <= width) return (short + at).padEnd(width);
  const room = width - at.length;
  if (room < 4) return cell(full, width);
  return `…${short.slice(short.length - room + 1)}${at}`;
}

const STATUS_COLOR: Record<string, string> = { running: 'green', runnable: 'green', syscall: 'cyan', leaked: 'red' };

function goroutineCells(r: GoroutineRow, cols: readonly Column[], member: boolean, deadlocked: boolean): string[] {
  return cols.map((c) => {
    switch (c.id) {
      case 'id': return cell(`${member ? '  ' : ''}${deadlocked ? '!' : ''}${r.id}`, c.width, true);
      case 'state': return cell(r.state, c.width);
      case 'blocked': return cell(blockedText(r.blockedMs, r.blockedExact), c.width, true);
      case 'channel': return cell(r.channel === null ? '' : hex(r.channel), c.width);
      case 'location': return r.location ? fitLocation(r.location.function, r.location.file, r.location.line, c.width) : cell(r.g.stackError ?? '', c.width);
      case 'creator': return r.creator ? fitLocation(r.creator.function, r.creator.file, r.creator.line, c.width) : cell('', c.width);
    }
  });
}

function groupCells(g: Group, expanded: boolean, cols: readonly Column[]): string[] {
  const labelWidth = cols.filter((c) => c.id === 'location' || c.id === 'creator' || c.id === 'channel').reduce((n, c) => n + c.width + 1, -1);
  const out = [
    // The group's size must show whole: 100,000 does not fit the ID column, 100k does.
    cell(`${expanded ? '▾' : '▸'} ×${countIn(g.rows.length, cols[0]!.width - 3)}`, cols[0]!.width, true),
    cell(g.otherStates > 0 ? `${g.state} +${g.otherStates}` : g.state, cols[1]!.width),
    cell(blockedText(g.maxBlockedMs, g.blockedExact), cols[2]!.width, true),
  ];
  out.push(cell(g.label, labelWidth));
  return out;
}

function Row({ item, cols, selected, color, deadlocked }: { item: Item; cols: readonly Column[]; selected: boolean; color: boolean; deadlocked: boolean }) {
  if (item.kind === 'group') return <Text inverse={selected} bold wrap="truncate-end">{groupCells(item.group, item.expanded, cols).join(' ')}</Text>;
  const r = item.row;
  const cells = goroutineCells(r, cols, item.member, deadlocked);
  if (selected || !color) return <Text inverse={selected} wrap="truncate-end">{cells.join(' ')}</Text>;
  const stateIdx = cols.findIndex((c) => c.id === 'state');
  const blockedIdx = stateIdx + 1;
  return (
    <Text wrap="truncate-end">
      {cells.slice(0, stateIdx).join(' ')}{' '}
      <Text color={STATUS_COLOR[r.g.status]}>{cells[stateIdx]}</Text>{' '}
      <Text dimColor={!r.blockedExact}>{cells[blockedIdx]}</Text>{' '}
      {cells.slice(blockedIdx + 1).join(' ')}
    </Text>
  );
}

export function GoroutineTable(p: TableProps) {
  const cols = tableColumns(p.width, p.showChannel);
  const titles = cols.map((c) => cell(c.title + (c.id === p.sort.column ? (p.sort.desc ? '↓' : '↑') : ''), c.width, c.right));
  // Grouped: COUNT, STATE, BLOCKED, then the group label across the rest (as in group rows).
  const title = p.groupTitle ? [cell('COUNT', cols[0]!.width, true), titles[1], titles[2], `GROUP: ${p.groupTitle}`].join(' ') : titles.join(' ');
  const visible: Item[] = [];
  for (let i = p.top; i < Math.min(p.items.length, p.top + p.height); i++) visible.push(p.items.at(i)!);
  return (
    <Box flexDirection="column" height={p.height + 1}>
      <Text bold inverse={!p.color} backgroundColor={p.color ? 'blue' : undefined} wrap="truncate-end">{cell(title, p.width)}</Text>
      {visible.length === 0 ? <Text dimColor wrap="truncate-end">{p.empty}</Text> : null}
      {visible.map((item, i) => (
        <Row key={i} item={item} cols={cols} selected={p.top + i === p.cursor} color={p.color}
          deadlocked={item.kind === 'goroutine' && (p.deadlocked?.has(item.row.id) ?? false)} />
      ))}
    </Box>
  );
}
