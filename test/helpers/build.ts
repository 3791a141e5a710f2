// Builds the Go programs of test/go/ per toolchain and variant into
// .cache/fixtures/, once: a binary is reused until its sources or its
// toolchain change. Safe when several ava workers (processes) ask for the
// same binary at once: one builds under a lock file, the others wait.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isSystemToolchain, type Toolchain } from './toolchains.ts';

const run = promisify(execFile);

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const GO_DIR = path.join(REPO_ROOT, 'test', 'go');
export const FIXTURE_DIR = path.join(REPO_ROOT, '.cache', 'fixtures');

export interface Variant {
  stripped: boolean;
  pie: boolean;
}

export const VARIANTS: readonly Variant[] = [
  { stripped: false, pie: false },
  { stripped: true, pie: false },
  { stripped: false, pie: true },
  { stripped: true, pie: true },
];

export function variantName(v: Variant): string {
  return `${v.stripped ? 'stripped' : 'plain'}-${v.pie ? 'pie' : 'exe'}`;
}

const BUILD_TIMEOUT_MS = 10 * 60_000;
const inProcess = new Map<string, Promise<string>>();

/** Path of `program` (a folder of test/go/) built with `tc` as `variant`. */
export function buildFixture(program: string, tc: Toolchain, variant: Variant): Promise<string> {
  const key = `${program}|${tc.minor}|${variantName(variant)}`;
  let p = inProcess.get(key);
  if (p === undefined) {
    p = build(program, tc, variant);
    inProcess.set(key, p);
    p.catch(() => inProcess.delete(key));
  }
  return p;
}

async function build(program: string, tc: Toolchain, variant: Variant): Promise<string> {
  if (!/^[a-z0-9_-]+$/.test(program)) throw new Error(`bad fixture program name: ${program}`);
  const { version, goroot } = await toolchainIdentity(tc);
  const recipe = [version, goroot, ...buildFlags(variant), JSON.stringify(buildEnvOverrides())].join('\n');
  const hash = await sourceHash(program, recipe);
  const prefix = `${program}-go1.${tc.minor}-${variantName(variant)}-`;
  const out = path.join(FIXTURE_DIR, prefix + hash);
  if (await isFile(out)) return out;
  await fs.mkdir(FIXTURE_DIR, { recursive: true });
  const lock = `${out}.lock`;
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  while (!(await tryLock(lock))) {
    if (await isFile(out)) return out;
    if (Date.now() > deadline) throw new Error(`timed out waiting for another build of ${out} (lock ${lock})`);
    await sleep(250);
  }
  try {
    if (await isFile(out)) return out; // built by the holder of the previous lock
    const tmp = `${out}.tmp-${process.pid}`;
    await goBuild(program, tc, variant, tmp);
    await fs.rename(tmp, out);
    await pruneOld(prefix, out);
    return out;
  } finally {
    await fs.rm(lock, { force: true });
  }
}

// GOSUMDB is left alone while selecting a toolchain: the go command insists
// on the checksum database for golang.org/toolchain (GOSUMDB=off fails).
// Builds then run that toolchain's own go binary with GOTOOLCHAIN=local.
function selectEnv(tc: Toolchain): NodeJS.ProcessEnv {
  return { ...process.env, GOTOOLCHAIN: 'local', ...tc.env, GOFLAGS: '-mod=mod', GOWORK: 'off' };
}

function buildEnvOverrides(): Record<string, string> {
  return {
    GOTOOLCHAIN: 'local',
    GOFLAGS: '-mod=mod -buildvcs=false',
    GOSUMDB: 'off',
    GOWORK: 'off',
    CGO_ENABLED: '0',
  };
}

function buildEnv(): NodeJS.ProcessEnv {
  const cache = process.env['GTOP_GOCACHE'];
  return { ...process.env, ...buildEnvOverrides(), ...(cache ? { GOCACHE: cache } : {}) };
}

function buildFlags(variant: Variant): string[] {
  const flags: string[] = [];
  if (variant.stripped) flags.push('-ldflags=-s -w');
  if (variant.pie) flags.push('-buildmode=pie');
  return flags;
}

async function goBuild(program: string, tc: Toolchain, variant: Variant, outPath: string): Promise<void> {
  const args = ['build', '-o', outPath, ...buildFlags(variant), `./${program}`];
  const { goroot } = await toolchainIdentity(tc);
  try {
    await run(path.join(goroot, 'bin', 'go'), args, { cwd: GO_DIR, env: buildEnv(), timeout: BUILD_TIMEOUT_MS, maxBuffer: 16 << 20 });
  } catch (err) {
    await fs.rm(outPath, { force: true });
    const e = err as { stderr?: string; message: string };
    throw new Error(`go build of ${program} with ${tc.version} (${variantName(variant)}) failed: ${e.stderr || e.message}`);
  }
}

export interface ToolchainIdentity {
  version: string;
  goroot: string;
}

const identities = new Map<number, Promise<ToolchainIdentity>>();

/** GOVERSION and GOROOT of the toolchain, checked against what tc promises. */
export function toolchainIdentity(tc: Toolchain): Promise<ToolchainIdentity> {
  let p = identities.get(tc.minor);
  if (p === undefined) {
    p = queryIdentity(tc);
    identities.set(tc.minor, p);
  }
  return p;
}

async function queryIdentity(tc: Toolchain): Promise<ToolchainIdentity> {
  let stdout: string;
  try {
    ({ stdout } = await run(tc.cmd, ['env', 'GOVERSION', 'GOROOT'], { cwd: GO_DIR, env: selectEnv(tc), timeout: 5 * 60_000 }));
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`toolchain ${tc.version} (${tc.cmd}) is not usable; run scripts/setup.sh: ${e.stderr || e.message}`);
  }
  const [version = '', goroot = ''] = stdout.trim().split('\n');
  const ok = isSystemToolchain(tc) ? version.startsWith(`go1.${tc.minor}.`) || version === `go1.${tc.minor}` : version === tc.version;
  if (!ok) throw new Error(`toolchain for go1.${tc.minor} reports ${version}, expected ${tc.version}`);
  return { version, goroot };
}

/** Hash of the module files, the program's sources and `extra`. */
async function sourceHash(program: string, extra: string): Promise<string> {
  const h = createHash('sha256');
  const files = ['go.mod', 'go.sum', ...(await listFiles(path.join(GO_DIR, program))).map((f) => path.join(program, f))];
  for (const rel of files.sort()) {
    const data = await fs.readFile(path.join(GO_DIR, rel)).catch(() => null);
    if (data === null) continue; // go.sum is optional
    h.update(`${rel}\0${data.length}\0`).update(data);
  }
  h.update(extra);
  return h.digest('hex').slice(0, 12);
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

/** Creates the lock file, or takes it over when its owner has died. */
async function tryLock(lock: string): Promise<boolean> {
  try {
    await fs.writeFile(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const owner = Number(await fs.readFile(lock, 'utf8').catch(() => ''));
  if (owner > 0 && !isAlive(owner)) await fs.rm(lock, { force: true });
  return false;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function pruneOld(prefix: string, keep: string): Promise<void> {
  for (const name of await fs.readdir(FIXTURE_DIR)) {
    const full = path.join(FIXTURE_DIR, name);
    if (name.startsWith(prefix) && full !== keep && !name.includes('.lock') && !name.includes('.tmp-')) {
      await fs.rm(full, { force: true });
    }
  }
}

async function isFile(p: string): Promise<boolean> {
  return fs.stat(p).then((s) => s.isFile(), () => false);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
