/** @jsxRuntime automatic @jsxImportSource react */
// The last line: the filter being typed, a message (e.g. where a dump went),
// or the keys that matter in the current view.
import { Text } from 'ink';
import type { Mode } from '../src/model/view.ts';
import { fit } from './text.ts';

export interface FooterProps {
  readonly mode: Mode;
  readonly draft: string;
  readonly filterError: string | null;
  readonly message: string | null;
  readonly width: number;
  readonly color: boolean;
}

const HINTS: Record<Mode, string> = {
  table: '?:help  ↑↓:move  Enter:stack/expand  /:filter  <>:sort  I:invert  g:group  c:waits  l:leaks  d:dump  s:system  space:pause  q:quit',
  filter: '',
  stack: 'Esc:back  ↑↓ PgUp PgDn:scroll  d:dump  q:quit',
  help: 'Esc:back  q:quit',
  channels: 'Esc/c:back  ↑↓:move  Enter:open  f:follow to the waker  l:leak suspects  q:quit',
  leaks: 'Esc/l:back  ↑↓:move  Enter:evidence  c:channels  q:quit',
};

export function Footer(p: FooterProps) {
  if (p.mode === 'filter') {
    const err = p.filterError === null ? '' : `  (${p.filterError})`;
    return (
      <Text wrap="truncate-end">
        <Text bold>/</Text>
        {fit(p.draft, Math.max(0, p.width - 2))}
        <Text inverse> </Text>
        <Text color={p.color ? 'red' : undefined}>{fit(err, Math.max(0, p.width - p.draft.length - 2))}</Text>
      </Text>
    );
  }
  if (p.message !== null) return <Text bold color={p.color ? 'green' : undefined} wrap="truncate-end">{fit(p.message, p.width)}</Text>;
  return <Text dimColor wrap="truncate-end">{fit(HINTS[p.mode], p.width)}</Text>;
}
