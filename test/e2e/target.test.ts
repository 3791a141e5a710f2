// The live target against real processes: error kinds for every way opening
// can fail, load bias against /proc arithmetic, reads of a running Go
// program's runtime.allglen (symtab and stripped/disassembly), a process that
// exits mid-session, unmapped and partly mapped reads. Needs root.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, realpathSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { ElfFile } from '../../src/binary/elf.ts';
import { findRuntimeGlobals } from '../../src/binary/globals.ts';
import { GtopError, MemoryReadError } from '../../src/errors.ts';
import { ProcessGoneError, TargetMemory } from '../../src/target/memory.ts';
import { type TargetProcess, openTarget, parseMaps, parseStat, readStat } from '../../src/target/process.ts';
import { type TinyVariant, buildTiny } from '../helpers/tiny.ts';

const AT_ENTRY = 9;

test.before(() => {
  if (process.getuid?.() !== 0) throw new Error('test/e2e/target.test.ts must run as root (it reads other processes through /proc/PID/mem)');
});

/** Go 1.26 build of the tiny program; `twin` keeps .symtab with the exact layout of the `-s -w` build. */
function build(mode: 'exe' | 'pie', variant: TinyVariant): string {
  return buildTiny(26, mode, variant);
}

function kill(t: ExecutionContext, child: ChildProcess): void {
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

/** Starts a program and resolves once it printed `marker` (or, without one, once it is running). */
async function start(t: ExecutionContext, cmd: string, args: string[] = [], marker?: string): Promise<ChildProcess> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  kill(t, child);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${cmd} did not start within 60 s (output: ${out})`)), 60_000);
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`${cmd} exited early with ${code}`)));
    const ready = () => { clearTimeout(timer); resolve(); };
    if (!marker) child.on('spawn', ready);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (marker && out.includes(marker)) ready();
    });
  });
  return child;
}

const exited = (child: ChildProcess) => new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.on('exit', () => r())));

function openError(pid: number): GtopError {
  try {
    openTarget(pid);
  } catch (err) {
    if (err instanceof GtopError) return err;
    throw err;
  }
  throw new Error(`openTarget(${pid}) succeeded`);
}

async function waitFor(what: string, f: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (f()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function symLookup(elf: ElfFile) {
  const syms = elf.symbols();
  return {
    funcByName(name: string) {
      const s = syms.get(name);
      return s && s.type === 2 ? { entry: s.value, end: s.value + s.size } : undefined;
    },
  };
}

test('parseStat and parseMaps: awkward names', (t) => {
  const stat = '77 (a) b (c) S 1 77 77 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 12345 1000 10 18446744073709551615';
  t.deepEqual(parseStat(stat), { comm: 'a) b (c', state: 'S', ppid: 1, flags: 4194560, startTime: 12345 });
  t.is(parseStat('garbage'), undefined);
  const maps = parseMaps([
    '00400000-00401000 r-xp 00000000 fd:01 1234                               /opt/my app/bin (deleted)',
    '7ffd0000-7ffd2000 rw-p 00000000 00:00 0 ',
    'not a mapping',
  ].join('\n'));
  t.deepEqual(maps, [
    { start: 0x400000, end: 0x401000, perms: 'r-xp', offset: 0, dev: 'fd:01', inode: 1234, path: '/opt/my app/bin (deleted)' },
    { start: 0x7ffd0000, end: 0x7ffd2000, perms: 'rw-p', offset: 0, dev: '00:00', inode: 0, path: '' },
  ]);
});

test('invalid PIDs are usage errors', (t) => {
  for (const pid of [0, -1, 1.5, Number.NaN, 1 << 23]) {
    const err = openError(pid);
    t.is(err.kind, 'usage');
    t.is(err.exitCode, 2);
    t.regex(err.message, /^invalid PID .*: expected a positive process ID$/);
  }
});

test('a PID with no process', async (t) => {
  const child = spawn('true');
  await exited(child);
  const pid = child.pid!;
  t.is(readStat(pid), undefined, 'the reaped PID is free');
  const err = openError(pid);
  t.is(err.kind, 'no-such-process');
  t.is(err.message, `no process with PID ${pid}`);
});

test('kernel threads are refused', (t) => {
  t.is(readStat(2)?.comm, 'kthreadd', 'PID 2 is kthreadd (no PID namespace)');
  const err = openError(2);
  t.is(err.kind, 'kernel-thread');
  t.is(err.message, 'PID 2 (kthreadd) is a kernel thread, not a Go program');
  // Another kernel thread, recognised by PF_KTHREAD rather than by its PID.
  const other = readdirSync('/proc').map(Number).find((p) => p > 2 && ((readStat(p)?.flags ?? 0) & 0x00200000) !== 0);
  t.truthy(other, 'a kernel thread besides kthreadd exists');
  t.is(openError(other!).kind, 'kernel-thread');
});

test('a zombie is refused', async (t) => {
  // sh forks `sleep 0.1` then execs `sleep 30`, which never reaps it.
  const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'inherit'] });
  kill(t, parent);
  const zombie = await new Promise<number>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  await waitFor(`PID ${zombie} to become a zombie`, () => readStat(zombie)?.state === 'Z');
  const err = openError(zombie);
  t.is(err.kind, 'zombie');
  t.regex(err.message, new RegExp(`^process ${zombie} \\(sleep\\) is a zombie`));
});

test('a non-Go process opens fine and its PIE load bias matches auxv', async (t) => {
  const child = await start(t, 'sleep', ['30']);
  const target = openTarget(child.pid!);
  t.is(target.pid, child.pid!);
  t.is(target.comm, 'sleep');
  t.deepEqual(target.cmdline, ['sleep', '30']);
  t.is(target.exePath, `/proc/${child.pid}/exe`);
  t.is(target.exeDisplayName, realpathSync(`/proc/${child.pid}/exe`));
  t.true(['S', 'R'].includes(target.state));
  t.true(target.isAlive());
  const elf = ElfFile.parse(readFileSync(target.exePath));
  const bias = target.loadBias(elf);
  t.is(bias, target.auxv().get(AT_ENTRY)! - elf.entry);
  t.is(bias % 4096, 0);
  const exeMaps = target.exeMappings();
  t.true(exeMaps.some((m) => m.offset === 0 && m.start === bias + elf.firstLoadSegment()!.vaddr));
  t.true(exeMaps.every((m) => m.path === target.exeDisplayName));
});

async function goTarget(t: ExecutionContext, path: string): Promise<{ child: ChildProcess; target: TargetProcess; elf: ElfFile; mem: TargetMemory }> {
  const child = await start(t, path, [], 'READY');
  const target = openTarget(child.pid!);
  const mem = new TargetMemory(child.pid!);
  t.teardown(() => mem.close());
  return { child, target, elf: ElfFile.parse(readFileSync(target.exePath)), mem };
}

/** Reads allglen and every G pointer behind allgptr. */
function readAllgs(t: ExecutionContext, mem: TargetMemory, allglen: number, allgptr: number): number {
  const n = Number(mem.read(allglen, 8).readBigUInt64LE(0));
  // main + 4 parked + the runtime's own (gc workers, finalizer, …).
  t.true(n >= 5 && n <= 100, `plausible allglen ${n}`);
  t.is(mem.u64(allglen), n, 'cached read agrees');
  const arr = mem.read(mem.u64(allgptr), n * 8);
  for (let i = 0; i < n; i++) {
    const gp = Number(arr.readBigUInt64LE(i * 8));
    t.true(gp !== 0 && mem.tryRead(gp, 8) !== undefined, `G ${i} at 0x${gp.toString(16)} is readable`);
  }
  return n;
}

test('Go PIE: load bias from /proc maps, runtime.allglen via the symbol table', async (t) => {
  const path = build('pie', 'plain');
  const { target, elf, mem } = await goTarget(t, path);
  t.true(elf.isPie);
  const bias = target.loadBias(elf);
  const firstMap = parseMaps(readFileSync(`/proc/${target.pid}/maps`, 'latin1')).find((m) => m.path === realpathSync(path) && m.offset === 0)!;
  t.is(bias, firstMap.start - elf.firstLoadSegment()!.vaddr);
  t.is(bias, target.auxv().get(AT_ENTRY)! - elf.entry);
  t.not(bias, 0);
  const g = findRuntimeGlobals(elf, symLookup(elf));
  t.is(g.source, 'symtab');
  readAllgs(t, mem, g.allglen + bias, g.allgptr + bias);
});

test('Go exe: load bias 0', async (t) => {
  const { target, elf } = await goTarget(t, build('exe', 'plain'));
  t.false(elf.isPie);
  t.is(target.loadBias(elf), 0);
  t.is(target.auxv().get(AT_ENTRY), elf.entry);
});

test('stripped Go PIE: runtime.allglen found by disassembly reads the live value', async (t) => {
  const twin = ElfFile.parse(readFileSync(build('pie', 'twin')));
  const { target, elf, mem } = await goTarget(t, build('pie', 'stripped'));
  t.is(elf.symbols().size, 0);
  const g = findRuntimeGlobals(elf, symLookup(twin));
  t.is(g.source, 'disasm');
  const bias = target.loadBias(elf);
  readAllgs(t, mem, g.allglen + bias, g.allgptr + bias);
});

test('a process that exits between open and read: ProcessGoneError, not alive', async (t) => {
  const { child, target, elf, mem } = await goTarget(t, build('pie', 'plain'));
  const g = findRuntimeGlobals(elf, symLookup(elf));
  const addr = g.allglen + target.loadBias(elf);
  t.truthy(mem.read(addr, 8));
  child.stdin!.end(); // the program returns from main when stdin closes
  await exited(child);
  t.is(child.exitCode, 0);
  t.false(target.isAlive());
  const err = t.throws(() => mem.read(addr, 8), { instanceOf: ProcessGoneError });
  t.true(err instanceof MemoryReadError);
  t.throws(() => mem.tryRead(addr, 8), { instanceOf: ProcessGoneError });
  mem.invalidate();
  t.throws(() => mem.cached(addr, 8), { instanceOf: ProcessGoneError });
  t.throws(() => target.mappings(), { instanceOf: GtopError, message: /has exited/ });
  t.throws(() => new TargetMemory(target.pid), { instanceOf: GtopError, message: /has exited/ });
  mem.close();
  mem.close();
});

test('unmapped, partly mapped and chunk-spanning reads', async (t) => {
  const { target, mem } = await goTarget(t, build('pie', 'plain'));
  // 0x1000 is below mmap_min_addr: never mapped.
  const err = t.throws(() => mem.read(0x1000, 8), { instanceOf: MemoryReadError });
  t.false(err instanceof ProcessGoneError);
  t.is(err!.addr, 0x1000);
  t.is(mem.tryRead(0x1000, 8), undefined);
  t.throws(() => mem.cached(0x1000, 8), { instanceOf: MemoryReadError });
  t.throws(() => mem.read(0x1000, 1e12), { instanceOf: MemoryReadError, message: /implausible/ });

  // The end of a readable mapping followed by a hole, not on a chunk boundary.
  const maps = target.mappings();
  const edge = maps.find((m, i) => m.perms.startsWith('r') && !m.path.startsWith('[v') && m.end % 65536 !== 0 && maps[i + 1]?.start !== m.end && mem.tryRead(m.end - 8, 8))!;
  t.truthy(edge, 'a mapping that ends before a hole');
  t.deepEqual(mem.cached(edge.end - 8, 8), mem.read(edge.end - 8, 8));
  const partial = t.throws(() => mem.cached(edge.end - 4, 8), { instanceOf: MemoryReadError });
  t.is(partial!.addr, edge.end);
  t.throws(() => mem.read(edge.end - 4, 8), { instanceOf: MemoryReadError });

  // A read spanning two chunks of one mapping, and the cache saving syscalls.
  const exe = target.exeMappings().find((m) => m.end - m.start >= 3 * 65536)!;
  const boundary = Math.ceil((exe.start + 1) / 65536) * 65536;
  mem.invalidate();
  t.deepEqual(mem.cached(boundary - 100, 200), mem.read(boundary - 100, 200));
  const before = mem.readCount;
  mem.cached(boundary - 50, 40);
  mem.u32(boundary + 8);
  mem.u8(boundary - 1);
  t.is(mem.readCount, before, 'cache hits make no syscalls');
  mem.invalidate();
  mem.u8(boundary);
  t.is(mem.readCount, before + 1, 'one pread per chunk after invalidate');
});

test('a deleted executable is still read through /proc/PID/exe', async (t) => {
  const copy = `${build('pie', 'plain')}.deleted-${process.pid}`;
  copyFileSync(build('pie', 'plain'), copy);
  const child = await start(t, copy, [], 'READY');
  unlinkSync(copy);
  const target = openTarget(child.pid!);
  t.is(target.exeDisplayName, `${copy} (deleted)`);
  t.is(target.exePath, `/proc/${child.pid}/exe`);
  const elf = ElfFile.parse(readFileSync(target.exePath));
  t.is(target.loadBias(elf), target.auxv().get(AT_ENTRY)! - elf.entry);
  t.true(target.exeMappings().length > 0);
});

test('without root: a permission error that says what to do', async (t) => {
  const child = await start(t, 'sleep', ['30']);
  const script = `import('./src/target/process.ts').then((m) => { try { m.openTarget(${child.pid}); console.log('{}'); } catch (e) { console.log(JSON.stringify({ kind: e.kind, message: e.message })); } });`;
  const out = execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', 'HOME=/tmp', process.execPath, '--import=tsx', '-e', script], {
    cwd: join(import.meta.dirname, '../..'), encoding: 'utf8',
  });
  t.deepEqual(JSON.parse(out), { kind: 'permission', message: `cannot read /proc/${child.pid}/mem: run gtop as root (or with CAP_SYS_PTRACE)` });
});
