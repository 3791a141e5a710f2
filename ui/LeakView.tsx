/** @jsxRuntime automatic @jsxImportSource react */
// The leak-suspect view (l): one summary line per suspect, highest score
// first; Enter shows the evidence that ranks it.
import type { LeakSuspectJSON } from '../src/analysis/json.ts';
import { basename } from '../src/model/rows.ts';
import { type ListLine, ListView } from './ListView.tsx';

export const LEAK_TITLE = 'LEAK SUSPECTS: creation sites whose blocked goroutines keep growing with no progress';

export const leakKey = (s: LeakSuspectJSON): string => `${s.site.function} ${s.site.file}:${s.site.line}`;

export function leakLines(suspects: readonly LeakSuspectJSON[], open: string | null): ListLine[] {
  if (suspects.length === 0) return [{ text: 'no leak suspects (yet: a site must keep growing over several refreshes)', kind: 'note', entry: -1 }];
  const out: ListLine[] = [];
  suspects.forEach((s, i) => {
    out.push({ text: s.summary, kind: 'entry', entry: i });
    if (leakKey(s) !== open) return;
    out.push({ text: `    created by ${s.site.function} ${basename(s.site.file)}:${s.site.line}`, kind: 'detail', entry: i });
    for (const e of s.evidence) out.push({ text: `    ${e}`, kind: 'detail', entry: i });
  });
  return out;
}

export interface LeakViewProps {
  readonly suspects: readonly LeakSuspectJSON[];
  readonly cursor: number;
  readonly open: string | null;
  readonly height: number;
  readonly width: number;
  readonly color: boolean;
}

export function LeakView(p: LeakViewProps) {
  return <ListView title={LEAK_TITLE} lines={leakLines(p.suspects, p.open)} cursor={p.cursor} height={p.height} width={p.width} color={p.color} />;
}
