// Column widths of the goroutine table for a terminal width: fixed columns
// first, the rest shared by LOCATION and CREATED BY. Pure.
import type { SortColumn } from '../src/model/derive.ts';

export interface Column {
  readonly id: SortColumn;
  readonly title: string;
  readonly width: number;
  readonly right: boolean;
}

export function tableColumns(width: number, showChannel: boolean): Column[] {
  const idW = 8;
  const stateW = Math.max(14, Math.min(24, Math.floor(width * 0.17)));
  const blockedW = 9;
  const chanW = showChannel ? 14 : 0;
  const fixed = idW + stateW + blockedW + chanW + (showChannel ? 5 : 4);
  const rest = Math.max(10, width - fixed);
  const locW = Math.ceil(rest * 0.55);
  const creatorW = Math.max(0, rest - locW);
  const cols: Column[] = [
    { id: 'id', title: 'ID', width: idW, right: true },
    { id: 'state', title: 'STATE', width: stateW, right: false },
    { id: 'blocked', title: 'BLOCKED', width: blockedW, right: true },
  ];
  if (showChannel) cols.push({ id: 'channel', title: 'CHANNEL', width: chanW, right: false });
  cols.push({ id: 'location', title: 'LOCATION', width: locW, right: false }, { id: 'creator', title: 'CREATED BY', width: creatorW, right: false });
  return cols;
}
