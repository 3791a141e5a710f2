// Builds one small Go program with every supported toolchain, in three
// variants (plain, `-s -w`, PIE), into .cache/static/, and computes ground
// truth with Go's own debug/gosym and with the program's own
// runtime.CallersFrames. Builds are cached by (toolchain, variant, source hash).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ElfFile } from '../../src/binary/elf.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CACHE = path.join(ROOT, '.cache/static');
// Test files run in parallel workers that may need the same fixture: one
// builds it under a lock, writing a per-process temporary name, then renames.
const TMP = `.tmp${process.pid}`;
const execFileAsync = promisify(execFile);

/** Toolchains of the support matrix; 1.19 is Debian's, 1.26 the system go. */
export const TOOLCHAINS = ['1.19', '1.20', '1.21', '1.22', '1.23', '1.24', '1.25', '1.26'] as const;
/**
 * Plus Go 1.17, outside the support matrix, for the older formats (pclntab
 * 0xfffffffa, pointer buildinfo); fetched by GOTOOLCHAIN on first use.
 */
export const ALL_TOOLCHAINS = ['1.17', ...TOOLCHAINS] as const;
export type Toolchain = (typeof ALL_TOOLCHAINS)[number];
/** pie-ext: PIE through the system linker (cgo), as most cgo programs are linked. */
export const VARIANTS = ['plain', 'stripped', 'pie', 'pie-ext'] as const;
export type Variant = (typeof VARIANTS)[number];

const GOTOOLCHAIN: Record<Toolchain, string> = {
  '1.17': 'go1.17.13', '1.19': 'local', '1.20': 'go1.20.14', '1.21': 'go1.21.13', '1.22': 'go1.22.12', '1.23': 'go1.23.12',
  '1.24': 'go1.24.13', '1.25': 'go1.25.14', '1.26': 'local',
};

function goBinary(tc: Toolchain): string {
  return tc === '1.19' ? '/usr/lib/go-1.19/bin/go' : 'go';
}

// The program under test: closures, inlined calls from a loop, a generic
// function, methods, a goroutine. Each `capture` prints the pcs of
// runtime.Callers and the logical frames runtime.CallersFrames makes of them.
const MAIN = `package main

import (
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
)

var out strings.Builder

//go:noinline
func capture(tag string) int {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(0, pcs)
	pcs = pcs[:n]
	fmt.Fprintf(&out, "STACK %s\\n", tag)
	for _, pc := range pcs {
		fmt.Fprintf(&out, "PC %#x\\n", pc)
	}
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		fmt.Fprintf(&out, "FRAME %s\\t%s\\t%d\\n", f.Function, f.File, f.Line)
		if !more {
			break
		}
	}
	return n
}

var tags = []string{"inline0", "inline1", "inline2", "inline3", "inline4", "inline5", "inline6", "inline7"}

// inner and innermost are small enough to be inlined: two inline levels in outer.
func innermost(x int) int { return capture(tags[x&7]) + x }
func inner(x int) int    { return innermost(x+1) * 2 }

//go:noinline
func outer(k int) int {
	s := 0
	for i := 0; i < k; i++ {
		s += inner(i)
	}
	return s
}

type counter struct{ mu sync.Mutex; n int }

func (c *counter) add(d int) { c.mu.Lock(); c.n += d; c.mu.Unlock() }

//go:noinline
func (c *counter) addAndCapture() { c.add(capture("method")) }

func main() {
	// Entry of main.outer as loaded: tells the test a PIE's load bias.
	fmt.Fprintf(&out, "OUTER %#x\\n", reflect.ValueOf(outer).Pointer())
	fmt.Fprintln(&out, "outer", outer(2))
	c := &counter{}
	c.addAndCapture()
	ints, strs := closures()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		inner(7)
	}()
	wg.Wait()
	fmt.Fprintln(&out, ints, strs, c.n)
	os.Stdout.WriteString(out.String())
}
`;

const GENERIC = `//go:build go1.18

package main

func apply[T any](xs []T, f func(T) T) []T {
	r := make([]T, 0, len(xs))
	for _, x := range xs {
		r = append(r, f(x))
	}
	return r
}

func closures() ([]int, []string) {
	ints := apply([]int{1}, func(v int) int { return v + capture("closure") })
	strs := apply([]string{"a"}, func(v string) string { capture("generic-string"); return v + "!" })
	return ints, strs
}
`;

// Go 1.17 (an extra, pre-generics toolchain) builds this instead.
const NOGENERIC = `//go:build !go1.18

package main

func closures() ([]int, []string) {
	f := func(v int) int { return v + capture("closure") }
	return []int{f(1)}, nil
}
`;

export const PROGRAM: Record<string, string> = { 'main.go': MAIN, 'generic.go': GENERIC, 'nogeneric.go': NOGENERIC };

// Ground truth from Go itself, built with the system go: every function
// (entry, name) from debug/gosym, and pc→file:line for several pcs of each;
// or, with "buildinfo", debug/buildinfo's reading as JSON.
const TRUTH = `package main

import (
	"debug/buildinfo"
	"debug/elf"
	"debug/gosym"
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	if os.Args[1] == "buildinfo" {
		bi, err := buildinfo.ReadFile(os.Args[2])
		if err != nil { panic(err) }
		json.NewEncoder(os.Stdout).Encode(bi)
		return
	}
	f, err := elf.Open(os.Args[1])
	if err != nil { panic(err) }
	syms, err := f.Symbols()
	if err != nil { panic(err) }
	var text, pcln, epcln uint64
	for _, s := range syms {
		switch s.Name {
		case "runtime.text": text = s.Value
		case "runtime.pclntab": pcln = s.Value
		case "runtime.epclntab": epcln = s.Value
		}
	}
	if text == 0 || pcln == 0 { panic("no runtime.text / runtime.pclntab") }
	// By symbol: an external linker may merge .data.rel.ro.gopclntab into .data.rel.ro.
	var data []byte
	for _, sec := range f.Sections {
		if sec.Addr <= pcln && pcln < sec.Addr+sec.Size {
			all, err := sec.Data()
			if err != nil { panic(err) }
			data = all[pcln-sec.Addr : epcln-sec.Addr]
		}
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text))
	if err != nil { panic(err) }
	fmt.Printf("TEXT %#x\\n", text)
	for i := range tab.Funcs {
		fn := &tab.Funcs[i]
		fmt.Printf("FUNC %#x %#x %s\\n", fn.Entry, fn.End, fn.Name)
		for _, pc := range []uint64{fn.Entry, fn.Entry + (fn.End-fn.Entry)/3, fn.Entry + (fn.End-fn.Entry)/2, fn.End - 1} {
			file, line, g := tab.PCToLine(pc)
			if g == nil { continue }
			fmt.Printf("LINE %#x %s %d\\n", pc, file, line)
		}
	}
}
`;

function hash(...parts: (string | Record<string, string>)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? p : JSON.stringify(p)).update('\0');
  return h.digest('hex').slice(0, 12);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const LOCK_STALE_MS = 20 * 60_000;

function lockIsStale(lock: string): boolean {
  try {
    const pid = Number(readFileSync(path.join(lock, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EPERM') return false;
    // No pid yet (just created) or the owner is gone: stale only when old, or when the owner died.
    try {
      return (err as NodeJS.ErrnoException).code === 'ESRCH' || Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS;
    } catch {
      return false;
    }
  }
}

/**
 * Makes `file` once across the parallel test workers: a lock directory
 * beside it, `make` writes `tmp`, which is renamed into place.
 */
async function ensure(file: string, make: (tmp: string) => Promise<void>): Promise<void> {
  const lock = `${file}.lock`;
  while (!existsSync(file)) {
    try {
      mkdirSync(path.dirname(lock), { recursive: true });
      mkdirSync(lock);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (lockIsStale(lock)) rmSync(lock, { recursive: true, force: true });
      else await sleep(300);
      continue;
    }
    try {
      writeFileSync(path.join(lock, 'pid'), String(process.pid));
      if (!existsSync(file)) {
        const tmp = `${file}${TMP}`;
        await make(tmp);
        renameSync(tmp, file);
      }
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

async function writeModule(dir: string, files: Record<string, string>): Promise<void> {
  await ensure(dir, async (tmp) => {
    mkdirSync(tmp, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(tmp, name), text);
    writeFileSync(path.join(tmp, 'go.mod'), 'module example.com/fixture\n\ngo 1.19\n');
  });
}

function goEnv(tc: Toolchain): NodeJS.ProcessEnv {
  // No VCS stamping (1.18+): builds must not depend on the checkout's state.
  const GOFLAGS = tc === '1.17' ? '-mod=mod' : '-mod=mod -buildvcs=false';
  return { ...process.env, GOTOOLCHAIN: GOTOOLCHAIN[tc], GOFLAGS, CGO_ENABLED: '0' };
}

async function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { ...opts, encoding: 'utf8', maxBuffer: 1 << 28 });
    return stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`${cmd} ${args.join(' ')} (GOTOOLCHAIN=${opts.env?.['GOTOOLCHAIN'] ?? '-'}) failed: ${stderr || String(err)}`);
  }
}

function binaryPath(tc: Toolchain, variant: Variant): string {
  return path.join(CACHE, `prog-${hash(PROGRAM, goEnv(tc)['GOFLAGS']!)}-go${tc}-${variant}`);
}

async function build(tc: Toolchain, variant: Variant): Promise<string> {
  const out = binaryPath(tc, variant);
  const src = path.join(CACHE, `src-${hash(PROGRAM)}`);
  await writeModule(src, PROGRAM);
  await ensure(out, async (tmp) => {
    const args = ['build', '-o', tmp];
    if (variant === 'stripped') args.push('-ldflags=-s -w');
    if (variant === 'pie' || variant === 'pie-ext') args.push('-buildmode=pie');
    if (variant === 'pie-ext') args.push('-ldflags=-linkmode=external');
    args.push('.');
    await run(goBinary(tc), args, { cwd: src, env: { ...goEnv(tc), CGO_ENABLED: variant === 'pie-ext' ? '1' : '0' } });
  });
  return out;
}

const TRUTH_DIR = path.join(CACHE, `truth-${hash(TRUTH)}`);
const TRUTH_BIN = path.join(TRUTH_DIR, 'truth');

async function buildTruthTool(): Promise<void> {
  await writeModule(TRUTH_DIR, { 'main.go': TRUTH });
  await ensure(TRUTH_BIN, (tmp) => run('go', ['build', '-o', tmp, '.'], { cwd: TRUTH_DIR, env: goEnv('1.26') }).then(() => {}));
}

async function ensureOutput(file: string, cmd: string, args: string[]): Promise<void> {
  await ensure(file, async (tmp) => writeFileSync(tmp, await run(cmd, args)));
}

// One build at a time per worker (go build already uses every core).
let queue: Promise<unknown> = Promise.resolve();

/**
 * The program built with one toolchain and variant, plus its cached ground
 * truth (its own output, debug/gosym, debug/buildinfo). Asynchronous so that
 * the test runner sees progress during cold builds.
 */
export function fixture(tc: Toolchain, variant: Variant): Promise<string> {
  const bin = binaryPath(tc, variant);
  const outputs = [bin, `${bin}.run.txt`, `${bin}.buildinfo.json`, ...(variant === 'stripped' ? [] : [`${bin}.gosym.txt`])];
  if (outputs.every((f) => existsSync(f))) return Promise.resolve(bin);
  const job = queue.then(async () => {
    await buildTruthTool();
    const bin = await build(tc, variant);
    await ensureOutput(`${bin}.run.txt`, bin, []);
    await ensureOutput(`${bin}.buildinfo.json`, TRUTH_BIN, ['buildinfo', bin]);
    if (variant !== 'stripped') await ensureOutput(`${bin}.gosym.txt`, TRUTH_BIN, [bin]);
    return bin;
  });
  queue = job.catch(() => {});
  return job;
}

/** Every variant for one toolchain, queued together so that a test's builds run back to back. */
export async function fixtures(tc: Toolchain): Promise<Record<Variant, string>> {
  const bins = await Promise.all(VARIANTS.map((v) => fixture(tc, v)));
  return Object.fromEntries(VARIANTS.map((v, i) => [v, bins[i]!])) as Record<Variant, string>;
}

function cachedText(file: string): string {
  if (!existsSync(file)) throw new Error(`${file} missing: call fixture() first`);
  return readFileSync(file, 'utf8');
}

export interface GosymTruth {
  text: number;
  funcs: { entry: number; end: number; name: string }[];
  lines: { pc: number; file: string; line: number }[];
}

/** debug/gosym's view of an unstripped binary. */
export function gosymTruth(binary: string): GosymTruth {
  const text = cachedText(`${binary}.gosym.txt`);
  const truth: GosymTruth = { text: 0, funcs: [], lines: [] };
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f[0] === 'TEXT') truth.text = Number(f[1]);
    else if (f[0] === 'FUNC') truth.funcs.push({ entry: Number(f[1]), end: Number(f[2]), name: f.slice(3).join(' ') });
    else if (f[0] === 'LINE') truth.lines.push({ pc: Number(f[1]), file: f.slice(2, -1).join(' '), line: Number(f.at(-1)) });
  }
  return truth;
}

export interface BuildInfoTruth {
  GoVersion: string;
  Path: string;
  Main: { Path: string; Version: string };
  Settings: { Key: string; Value?: string }[] | null;
}

/** debug/buildinfo.ReadFile of a binary. */
export function buildInfoTruth(binary: string): BuildInfoTruth {
  const text = cachedText(`${binary}.buildinfo.json`);
  return JSON.parse(text) as BuildInfoTruth;
}

export interface CapturedStack {
  tag: string;
  pcs: number[];
  frames: { function: string; file: string; line: number }[];
}

/** What the program itself printed from runtime.Callers / CallersFrames, and main.outer's loaded entry. */
export function runFixture(binary: string): { stacks: CapturedStack[]; outer: number } {
  const text = cachedText(`${binary}.run.txt`);
  const stacks: CapturedStack[] = [];
  let outer = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('OUTER ')) outer = Number(line.slice(6));
    if (line.startsWith('STACK ')) stacks.push({ tag: line.slice(6), pcs: [], frames: [] });
    const cur = stacks.at(-1);
    if (!cur) continue;
    if (line.startsWith('PC ')) cur.pcs.push(Number(line.slice(3)));
    else if (line.startsWith('FRAME ')) {
      const [fn, file, ln] = line.slice(6).split('\t');
      cur.frames.push({ function: fn!, file: file!, line: Number(ln) });
    }
  }
  return { stacks, outer };
}

/** The same image with e_shoff/e_shnum/e_shstrndx zeroed, as sstrip leaves it. */
export function withoutSections(elf: ElfFile): ElfFile {
  const copy = Buffer.from(elf.source.read(0, elf.source.size));
  copy.writeBigUInt64LE(0n, 40);
  copy.writeUInt16LE(0, 60);
  copy.writeUInt16LE(0, 62);
  return ElfFile.parse(copy);
}

/** Builds everything up front (run directly: `node --import=tsx test/unit/fixtures-static.ts`). */
export async function buildAll(log: (s: string) => void = () => {}): Promise<void> {
  for (const tc of ALL_TOOLCHAINS) {
    for (const v of VARIANTS) log(`go${tc} ${v}: ${await fixture(tc, v)}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildAll((s) => console.log(s));
}
