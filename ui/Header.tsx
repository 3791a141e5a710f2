/** @jsxRuntime automatic @jsxImportSource react */
// The four header lines: the process, the totals by state with their
// history, rates and where the figures come from, then the view settings
// (or why the last refresh failed).
import { Box, Text } from 'ink';
import type { Grouping, SortSpec } from '../src/model/derive.ts';
import type { ModelView } from '../src/model/live.ts';
import { sparkline } from './Sparkline.tsx';
import { count, duration, fit, rate } from './text.ts';

export const HEADER_LINES = 4;

export interface HeaderProps {
  readonly view: ModelView | undefined;
  readonly pid: number;
  readonly width: number;
  readonly color: boolean;
  readonly refreshSec: number;
  readonly paused: boolean;
  readonly sort: SortSpec;
  readonly grouping: Grouping;
  readonly filter: string;
  readonly shown: number;
  readonly showSystem: boolean;
  readonly noProbes: string | null;
}

const GROUP_NAMES: Record<Grouping, string> = { none: 'none', creator: 'creation site', top: 'top frame', stack: 'whole stack' };
const SORT_NAMES: Record<string, string> = { id: 'ID', state: 'STATE', blocked: 'BLOCKED', location: 'LOCATION', creator: 'CREATED BY', channel: 'CHANNEL' };

function sourceText(v: ModelView, noProbes: string | null): string {
  if (v.probes === null) return `${noProbes ?? 'no probes'}: figures from snapshots (BLOCKED ~: seen in that wait at each refresh)`;
  const p = v.probes;
  const overhead = p.overhead === null ? 'overhead –' : `overhead ${(p.overhead * 100).toFixed(2)}%`;
  return `probes: ${p.mode}  ${overhead}${p.drops > 0 ? `  DROPS ${count(p.drops)}` : ''}`;
}

export function Header(p: HeaderProps) {
  const v = p.view;
  const w = p.width;
  if (v === undefined) {
    return (
      <Box flexDirection="column" height={HEADER_LINES}>
        <Text bold>{fit(`gtop  pid ${p.pid}`, w)}</Text>
        <Text>{fit(`reading the goroutines of process ${p.pid}…`, w)}</Text>
      </Box>
    );
  }
  const proc = v.process;
  const up = proc.uptimeSec === null ? '' : `  up ${duration(proc.uptimeSec * 1000, false)}`;
  const line1 = `gtop  pid ${proc.pid} ${proc.name}  ${v.goVersion}${up}  every ${p.refreshSec}s`;
  const clock = v.takenAt.toTimeString().slice(0, 8);
  const total = `${count(v.total)} goroutines${v.system > 0 ? ` +${v.system} system` : ''} `;
  const sparkW = Math.max(0, Math.min(30, Math.floor(w / 4)));
  const states = `  ${v.byStatus.map((s) => `${s.status} ${count(s.count)}`).join(' · ')}`;
  const rates = `created ${rate(v.createdPerSec)}  exited ${rate(v.exitedPerSec)}  snapshot ${Math.round(v.snapshotMs)} ms${v.unreadable > 0 ? `  ${v.unreadable} unreadable` : ''}  │ `;
  const filter = p.filter === '' ? '' : `  filter /${p.filter}/ ${count(p.shown)} shown`;
  const settings = `sort ${SORT_NAMES[p.sort.column]}${p.sort.desc ? '↓' : '↑'}  group ${GROUP_NAMES[p.grouping]}${filter}  system ${p.showSystem ? 'shown' : 'hidden'}`;
  const right = p.paused ? '  PAUSED' : `  ${clock}`;
  return (
    <Box flexDirection="column" height={HEADER_LINES}>
      <Text wrap="truncate-end">
        <Text bold>{fit(line1, Math.max(0, w - right.length))}</Text>
        <Text bold={p.paused} color={p.paused && p.color ? 'yellow' : undefined} inverse={p.paused && !p.color}>{w > line1.length + right.length ? right : ''}</Text>
      </Text>
      <Text wrap="truncate-end">
        <Text bold>{fit(total, w)}</Text>
        <Text color={p.color ? 'cyan' : undefined}>{sparkline(v.history, Math.min(sparkW, Math.max(0, w - total.length)))}</Text>
        {fit(states, Math.max(0, w - total.length - Math.min(sparkW, v.history.length)))}
      </Text>
      <Text wrap="truncate-end">
        {fit(rates, w)}
        <Text dimColor={v.probes === null}>{fit(sourceText(v, p.noProbes), Math.max(0, w - rates.length))}</Text>
      </Text>
      {v.error !== null ? (
        <Text bold color={p.color ? 'red' : undefined} inverse={!p.color} wrap="truncate-end">{fit(v.gone ? `${v.error}: showing the last snapshot (d still dumps it, q quits)` : v.error, w)}</Text>
      ) : (
        <Text wrap="truncate-end">{fit(settings, w)}</Text>
      )}
    </Box>
  );
}
