// --once output: text shaped like the runtime's own debug=2 dump, and the
// stable JSON schema documented in the README.
import type { Frame, Goroutine, Snapshot } from '../runtime/goroutine.ts';

export interface FormatOptions {
  /** Include runtime-internal goroutines, which the runtime's dump hides. */
  system: boolean;
}

export function visibleGoroutines(snap: Snapshot, opts: FormatOptions): Goroutine[] {
  return opts.system ? snap.goroutines : snap.goroutines.filter((g) => !g.system);
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

export function goroutineHeader(g: Goroutine): string {
  let state = g.waitReason ?? g.status;
  if (g.status === 'leaked') state += ' (leaked)';
  if (g.rawStatus & 0x1000) state += ' (scan)';
  if (g.waitMinutes !== null) state += `, ${g.waitMinutes} minutes`;
  if (g.lockedToThread) state += ', locked to thread';
  return `goroutine ${g.id} [${state}]:`;
}

function frameLines(f: Frame): string {
  const args = f.inlined ? '(...)' : '()';
  const off = f.offset !== null ? ` +${hex(f.offset)}` : '';
  return `${f.function}${args}\n\t${f.file}:${f.line}${off}\n`;
}

export function formatGoroutineText(g: Goroutine): string {
  let out = `${goroutineHeader(g)}\n`;
  if (g.frames.length === 0 && g.stackError) out += `\t${g.stackError}\n`;
  const half = g.framesElided && g.frames.length > 50 ? 50 : g.frames.length;
  g.frames.forEach((f, i) => {
    if (g.framesElided && i === half) out += '...additional frames elided...\n';
    out += frameLines(f);
  });
  if (g.framesElided && half === g.frames.length) out += '...additional frames elided...\n';
  if (g.createdBy) {
    const c = g.createdBy;
    out += `created by ${c.function}${g.parentId !== null ? ` in goroutine ${g.parentId}` : ''}\n`;
    out += `\t${c.file}:${c.line}${c.offset !== null ? ` +${hex(c.offset)}` : ''}\n`;
  }
  return out;
}

export function formatText(snap: Snapshot, opts: FormatOptions): string {
  return visibleGoroutines(snap, opts).map(formatGoroutineText).join('\n');
}

export function toJSON(snap: Snapshot, opts: FormatOptions): object {
  return {
    pid: snap.pid,
    exe: snap.exe,
    goVersion: snap.goVersion,
    module: snap.module,
    takenAt: snap.takenAt.toISOString(),
    goroutines: visibleGoroutines(snap, opts).map((g) => ({
      id: g.id,
      status: g.status,
      waitReason: g.status === 'waiting' ? g.waitReason : null,
      waitMinutes: g.waitMinutes,
      system: g.system,
      frames: g.frames.map((f) => ({ function: f.function, file: f.file, line: f.line, inlined: f.inlined })),
      createdBy: g.createdBy ? { function: g.createdBy.function, file: g.createdBy.file, line: g.createdBy.line } : null,
      parentId: g.parentId,
      labels: g.labels,
      ...(g.stackError ? { stackError: g.stackError } : {}),
    })),
  };
}
