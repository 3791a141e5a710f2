// The live target as /proc describes it: identity (pid + start time, so a
// reused PID is noticed), the executable to read, its mappings and the load
// bias of a PIE. Every failure a user can meet becomes a one-line GtopError.
import { closeSync, openSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import type { ElfFile } from '../binary/elf.ts';
import { GtopError } from '../errors.ts';

export interface Mapping { start: number; end: number; perms: string; offset: number; dev: string; inode: number; path: string }

export interface TargetProcess {
  pid: number;
  comm: string;
  cmdline: string[];
  /** Path for reading the executable: `/proc/PID/exe` (works for replaced/deleted files and other mount namespaces). */
  exePath: string;
  /** readlink of /proc/PID/exe (may end in " (deleted)"). */
  exeDisplayName: string;
  /** Field 22 of /proc/PID/stat, in clock ticks since boot: detects PID reuse. */
  startTime: number;
  /** R/S/D/Z/… at open time. */
  state: string;
  /** Parsed /proc/PID/maps, fresh each call. */
  mappings(): Mapping[];
  /** The mappings of the executable file itself (matched by device and inode). */
  exeMappings(): Mapping[];
  /** 0 for ET_EXEC; for a PIE, where its first PT_LOAD was mapped minus that segment's p_vaddr. */
  loadBias(elf: ElfFile): number;
  /** /proc/PID/auxv as AT_* type → value (AT_ENTRY = 9 is the runtime entry point). */
  auxv(): Map<number, number>;
  /** Same process as at open time (same start time) and not a zombie. */
  isAlive(): boolean;
}

export interface ProcStat { comm: string; state: string; ppid: number; flags: number; startTime: number }

const PF_KTHREAD = 0x00200000;
// Set as soon as a task starts exiting; its memory can be gone before it is a zombie.
export const PF_EXITING = 0x00000004;
const PID_MAX_LIMIT = 1 << 22; // kernel's hard upper bound for pid_max on 64-bit
const PAGE = 4096;
const AT_ENTRY = 9;

/** Parses /proc/PID/stat; `comm` may itself contain spaces and parentheses. */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const rest = text.slice(close + 2).trim().split(' ');
  // rest[0] is field 3 (state); field N is rest[N - 3].
  const state = rest[0];
  const ppid = Number(rest[1]);
  const flags = Number(rest[6]);
  const startTime = Number(rest[19]);
  if (!state || !Number.isFinite(ppid) || !Number.isFinite(flags) || !Number.isFinite(startTime)) return undefined;
  return { comm: text.slice(open + 1, close), state, ppid, flags, startTime };
}

/** Current stat of a PID, or undefined when there is no such process. */
export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch (err) {
    if (errno(err) === 'ENOENT' || errno(err) === 'ESRCH') return undefined;
    throw err;
  }
  return parseStat(text);
}

export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    // start-end perms offset dev inode [path]; the path may contain spaces.
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({
      start: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16), perms: m[3]!, offset: parseInt(m[4]!, 16),
      dev: m[5]!, inode: Number(m[6]), path: m[7]!,
    });
  }
  return out;
}

export function openTarget(pid: number): TargetProcess {
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid > PID_MAX_LIMIT) {
    throw new GtopError('usage', `invalid PID ${String(pid)}: expected a positive process ID`);
  }
  const stat = readStat(pid);
  if (!stat) throw new GtopError('no-such-process', `no process with PID ${pid}`);
  const kthread = () => new GtopError('kernel-thread', `PID ${pid} (${stat.comm}) is a kernel thread, not a Go program`);
  if (pid === 2 || (stat.flags & PF_KTHREAD) !== 0) throw kthread();
  if (stat.state === 'Z' || stat.state === 'X') {
    throw new GtopError('zombie', `process ${pid} (${stat.comm}) is a zombie: it has exited and has no memory left to read`);
  }
  const exeDisplayName = procCall(pid, stat.comm, () => readlinkSync(`/proc/${pid}/exe`), kthread);
  const exePath = chooseExePath(pid, exeDisplayName);
  const cmdline = procCall(pid, stat.comm, () => readFileSync(`/proc/${pid}/cmdline`, 'utf8'), kthread).split('\0');
  if (cmdline[cmdline.length - 1] === '') cmdline.pop();
  // Fail now, with the right advice, rather than at the first memory read.
  procCall(pid, stat.comm, () => closeSync(openSync(`/proc/${pid}/mem`, 'r')), kthread);
  return new Target(pid, stat, cmdline, exePath, exeDisplayName);
}

/** Runs a /proc access and turns its errno into the error a user should see. */
function procCall<T>(pid: number, comm: string, f: () => T, kthread: () => GtopError): T {
  try {
    return f();
  } catch (err) {
    const code = errno(err);
    if (code === 'EACCES' || code === 'EPERM') {
      throw new GtopError('permission', `cannot read /proc/${pid}/mem: run gtop as root (or with CAP_SYS_PTRACE)`, { cause: err });
    }
    if (code === 'ENOENT' || code === 'ESRCH') {
      const now = readStat(pid);
      if (!now) throw new GtopError('process-gone', `process ${pid} (${comm}) exited while gtop was opening it`, { cause: err });
      if (now.state === 'Z' || now.state === 'X') throw new GtopError('zombie', `process ${pid} (${comm}) is a zombie: it has exited and has no memory left to read`);
      // A live process without an exe link is a kernel thread.
      throw kthread();
    }
    throw err;
  }
}

function chooseExePath(pid: number, display: string): string {
  const exe = `/proc/${pid}/exe`;
  if (canOpen(exe)) return exe;
  // Through the target's root, for a file we cannot open via the magic link.
  const viaRoot = `/proc/${pid}/root${display.replace(/ \(deleted\)$/, '')}`;
  return canOpen(viaRoot) ? viaRoot : exe;
}

function canOpen(path: string): boolean {
  try {
    closeSync(openSync(path, 'r'));
    return true;
  } catch {
    return false;
  }
}

class Target implements TargetProcess {
  readonly comm: string;
  readonly startTime: number;
  readonly state: string;

  constructor(readonly pid: number, stat: ProcStat, readonly cmdline: string[], readonly exePath: string, readonly exeDisplayName: string) {
    this.comm = stat.comm;
    this.startTime = stat.startTime;
    this.state = stat.state;
  }

  mappings(): Mapping[] {
    try {
      return parseMaps(readFileSync(`/proc/${this.pid}/maps`, 'latin1'));
    } catch (err) {
      throw this.goneOr(err);
    }
  }

  loadBias(elf: ElfFile): number {
    if (!elf.isPie) return 0;
    const seg = elf.firstLoadSegment();
    if (!seg) throw new GtopError('bad-binary', `${this.exeDisplayName} has no loadable segment`);
    const first = this.exeMappings().find((m) => m.offset === 0);
    if (first) return first.start - (seg.vaddr - (seg.vaddr % PAGE));
    // No mapping identifiable as the executable: the entry point in auxv says the same.
    const entry = this.auxv().get(AT_ENTRY);
    if (entry === undefined) throw new GtopError('bad-binary', `cannot find where ${this.exeDisplayName} is mapped in process ${this.pid}`);
    return entry - elf.entry;
  }

  /** Mappings of the executable file, matched by device and inode rather than by path text. */
  exeMappings(): Mapping[] {
    const maps = this.mappings();
    let st;
    try {
      st = statSync(this.exePath, { bigint: true });
    } catch (err) {
      throw this.goneOr(err);
    }
    const dev = devString(st.dev);
    const ino = Number(st.ino);
    const byId = maps.filter((m) => m.inode === ino && m.dev === dev);
    if (byId.length > 0) return byId;
    // Overlay filesystems can report the lower layer's device in maps.
    return maps.filter((m) => m.inode === ino && m.inode !== 0);
  }

  /** /proc/PID/auxv as a map from AT_* type to value. */
  auxv(): Map<number, number> {
    let buf: Buffer;
    try {
      buf = readFileSync(`/proc/${this.pid}/auxv`);
    } catch (err) {
      throw this.goneOr(err);
    }
    const out = new Map<number, number>();
    for (let o = 0; o + 16 <= buf.length; o += 16) {
      const type = Number(buf.readBigUInt64LE(o));
      if (type === 0) break;
      out.set(type, Number(buf.readBigUInt64LE(o + 8)));
    }
    return out;
  }

  isAlive(): boolean {
    const now = readStat(this.pid);
    return !!now && now.startTime === this.startTime && now.state !== 'Z' && now.state !== 'X' && (now.flags & PF_EXITING) === 0;
  }

  private goneOr(err: unknown): Error {
    if (!this.isAlive()) return new GtopError('process-gone', `process ${this.pid} (${this.comm}) has exited`, { cause: err });
    const code = errno(err);
    if (code === 'EACCES' || code === 'EPERM') {
      return new GtopError('permission', `cannot read /proc/${this.pid}/mem: run gtop as root (or with CAP_SYS_PTRACE)`, { cause: err });
    }
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** st_dev in the "major:minor" hex form of /proc/PID/maps (Linux's new_encode_dev layout). */
function devString(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}
