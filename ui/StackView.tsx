/** @jsxRuntime automatic @jsxImportSource react */
// One goroutine in full: every frame the runtime would print (inlined ones
// too) with file:line, the creator, labels, and the stack at park time when
// the probes captured one. Scrolls; the first line stays.
import { Box, Text } from 'ink';
import type { Frame } from '../src/runtime/goroutine.ts';
import type { GoroutineRow } from '../src/model/rows.ts';
import { blockedText, cellEnd, fit, hex } from './text.ts';

export interface StackLine {
  readonly text: string;
  readonly kind: 'title' | 'func' | 'file' | 'note' | 'alert' | 'blank';
}

function frameLines(frames: readonly Frame[], out: StackLine[]): void {
  for (const f of frames) {
    out.push({ text: `${f.function}${f.inlined ? '(...)  [inlined]' : '()'}`, kind: 'func' });
    out.push({ text: `    ${f.file}:${f.line}${f.offset !== null ? ` +${hex(f.offset)}` : ''}`, kind: 'file' });
  }
}

export interface StackExtras {
  /** Why there is no park-time stack, when that is worth saying (probes on, but none captured). */
  readonly parkWhy?: string | null;
  /** The other goroutines of the proven deadlock cycle this one is in. */
  readonly deadlockWith?: readonly number[] | null;
}

/** The scrolling lines of the stack view. */
export function stackLines(r: GoroutineRow, parkStack: readonly Frame[] | null, exited: boolean, extras: StackExtras = {}): StackLine[] {
  const g = r.g;
  const out: StackLine[] = [];
  const blocked = r.blockedMs === null ? '' : `, blocked ${blockedText(r.blockedMs, r.blockedExact)}`;
  const flags = `${g.lockedToThread ? ', locked to thread' : ''}${g.system ? ', runtime-internal' : ''}`;
  out.push({ text: `goroutine ${g.id} [${r.state}${blocked}${flags}]${exited ? '  (has exited: last seen stack)' : ''}`, kind: 'title' });
  if (extras.deadlockWith) out.push({ text: `DEADLOCK: in a proven cycle with G${extras.deadlockWith.join(', G')} (c: path and evidence)`, kind: 'alert' });
  if (r.channel !== null) out.push({ text: `waiting on channel ${hex(r.channel)}`, kind: 'note' });
  const labels = Object.entries(g.labels);
  if (labels.length > 0) out.push({ text: `labels: ${labels.map(([k, v]) => `${k}=${v}`).join(' ')}`, kind: 'note' });
  out.push({ text: '', kind: 'blank' });
  if (g.frames.length === 0) out.push({ text: g.stackError ?? 'no frames', kind: 'note' });
  else if (g.stackError) out.push({ text: `(${g.stackError})`, kind: 'note' });
  frameLines(g.frames, out);
  if (g.framesElided) out.push({ text: '...additional frames elided...', kind: 'note' });
  if (g.createdBy) {
    out.push({ text: `created by ${g.createdBy.function}${g.parentId !== null ? ` in goroutine ${g.parentId}` : ''}`, kind: 'func' });
    out.push({ text: `    ${g.createdBy.file}:${g.createdBy.line}`, kind: 'file' });
  }
  if (parkStack !== null && parkStack.length > 0) {
    // Where it called into the wait: the runtime's current stack can be deeper or differ after a stack move.
    out.push({ text: '', kind: 'blank' }, { text: 'parked at (stack the probes captured when it parked):', kind: 'title' });
    frameLines(parkStack, out);
  } else if (extras.parkWhy) {
    out.push({ text: '', kind: 'blank' }, { text: `no park-time stack: ${extras.parkWhy}`, kind: 'note' });
  }
  return out;
}

export interface StackViewProps {
  readonly lines: readonly StackLine[];
  readonly top: number;
  readonly height: number;
  readonly width: number;
  readonly color: boolean;
}

function Line({ line, width, color }: { line: StackLine; width: number; color: boolean }) {
  // A long path keeps its end: the file name and line are what matter.
  const text = line.kind === 'file' ? cellEnd(line.text, width) : fit(line.text, width);
  switch (line.kind) {
    case 'title': return <Text bold wrap="truncate-end">{text}</Text>;
    case 'func': return <Text color={color ? 'cyan' : undefined} wrap="truncate-end">{text}</Text>;
    case 'note': return <Text dimColor wrap="truncate-end">{text}</Text>;
    case 'alert': return <Text bold color={color ? 'red' : undefined} wrap="truncate-end">{text}</Text>;
    default: return <Text wrap="truncate-end">{text || ' '}</Text>;
  }
}

export function StackView(p: StackViewProps) {
  const [title, ...rest] = p.lines;
  const visible = rest.slice(p.top, p.top + p.height - 1);
  return (
    <Box flexDirection="column" height={p.height}>
      {title ? <Line line={title} width={p.width} color={p.color} /> : null}
      {visible.map((l, i) => <Line key={i} line={l} width={p.width} color={p.color} />)}
    </Box>
  );
}
