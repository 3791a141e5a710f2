// The `d` key's dump: every goroutine's stack in a file, first grouped by
// identical stack with counts (what an on-call reads first), then each
// goroutine in the runtime's own debug=2 text. Written in chunks, so 100k
// goroutines never become one 100 MB string, to a new file of mode 0600.
import { closeSync, constants, fchmodSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { formatGoroutineText } from '../cli/format.ts';
import type { Frame, Goroutine, Snapshot } from '../runtime/goroutine.ts';
import { stateOf } from './rows.ts';

export interface StackGroup {
  readonly frames: readonly Frame[];
  readonly goroutines: readonly Goroutine[];
}

function creatorKey(g: Goroutine): string {
  const c = g.createdBy;
  return c === null ? '' : `${c.function} ${c.file}:${c.line}`;
}

/** Goroutines with the same frames and creation site, largest group first. */
export function groupByStack(gs: readonly Goroutine[]): StackGroup[] {
  // Frames arrays are shared by the symbolizer; key by content anyway, since a cache may have been reset.
  const keys = new Map<readonly Frame[], string>();
  const groups = new Map<string, Goroutine[]>();
  for (const g of gs) {
    let k = keys.get(g.frames);
    if (k === undefined) keys.set(g.frames, (k = g.frames.map((f) => `${f.function}\t${f.file}:${f.line}`).join('\n')));
    const key = `${k}\n${creatorKey(g)}\n${g.stackError ?? ''}`;
    let list = groups.get(key);
    if (list === undefined) groups.set(key, (list = []));
    list.push(g);
  }
  return [...groups.values()]
    .map((list) => ({ frames: list[0]!.frames, goroutines: list }))
    .sort((a, b) => b.goroutines.length - a.goroutines.length || a.goroutines[0]!.id - b.goroutines[0]!.id);
}

const MAX_IDS = 20;

function groupText(grp: StackGroup): string {
  const states = new Map<string, number>();
  for (const g of grp.goroutines) states.set(stateOf(g), (states.get(stateOf(g)) ?? 0) + 1);
  const n = grp.goroutines.length;
  const stateList = states.size === 1 ? stateOf(grp.goroutines[0]!) : [...states].sort((a, b) => b[1] - a[1]).map(([s, c]) => `${s} ×${c}`).join(', ');
  const ids = grp.goroutines.slice(0, MAX_IDS).map((g) => g.id).join(' ') + (n > MAX_IDS ? ` … (${n - MAX_IDS} more)` : '');
  let out = `${n} goroutine${n === 1 ? '' : 's'} [${stateList}]: ${ids}\n`;
  const first = grp.goroutines[0]!;
  if (grp.frames.length === 0 && first.stackError) out += `\t${first.stackError}\n`;
  for (const f of grp.frames) out += `${f.function}${f.inlined ? '(...)' : '()'}\n\t${f.file}:${f.line}\n`;
  if (first.createdBy) out += `created by ${first.createdBy.function}\n\t${first.createdBy.file}:${first.createdBy.line}\n`;
  return out;
}

/** The dump's text, in chunks of a few hundred goroutines. */
export function* dumpChunks(snap: Snapshot, gs: readonly Goroutine[], systemIncluded: boolean): Generator<string> {
  const groups = groupByStack(gs);
  yield `gtop dump of process ${snap.pid} (${snap.exe}), ${snap.goVersion}, read at ${snap.takenAt.toISOString()}\n` +
    `${gs.length} goroutines (runtime-internal ones ${systemIncluded ? 'included' : 'left out'}), ${groups.length} distinct stacks\n\n` +
    `=== goroutines grouped by identical stack, largest group first ===\n\n`;
  let buf = '';
  for (const grp of groups) {
    buf += `${groupText(grp)}\n`;
    if (buf.length > 65_536) {
      yield buf;
      buf = '';
    }
  }
  buf += `=== every goroutine ===\n\n`;
  for (const g of gs) {
    buf += `${formatGoroutineText(g)}\n`;
    if (buf.length > 65_536) {
      yield buf;
      buf = '';
    }
  }
  if (buf !== '') yield buf;
}

function stamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/**
 * Writes the chunks to a new file gtop-PID-DATE-TIME.txt in `dir` and returns
 * its path. O_EXCL: never follows or overwrites an existing file (gtop runs
 * as root and the directory may be shared).
 */
export function writeDump(dir: string, pid: number, at: Date, chunks: Iterable<string>): string {
  let fd: number | undefined;
  let file = '';
  for (let i = 0; fd === undefined; i++) {
    file = path.join(dir, `gtop-${pid}-${stamp(at)}${i === 0 ? '' : `-${i}`}.txt`);
    try {
      fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || i >= 100) throw err;
    }
  }
  try {
    fchmodSync(fd, 0o600);
    for (const c of chunks) writeSync(fd, c);
  } finally {
    closeSync(fd);
  }
  return file;
}
