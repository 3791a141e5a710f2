// What every bench shares: where the repository is (run from bench/ or from
// dist/bench/), building its Go programs, and starting the parked-goroutine
// target.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(`${dir}/package.json`)) dir = dirname(dir);
  return `${dir}/`;
}

export const ROOT = repoRoot();
export const OUT = `${ROOT}.cache/bench`;

/** Builds a Go package with the system toolchain into .cache/bench/NAME. */
export function buildGo(dir: string, pkg: string, name: string): string {
  mkdirSync(OUT, { recursive: true });
  const bin = `${OUT}/${name}`;
  execFileSync('go', ['build', '-o', bin, pkg], { cwd: dir, stdio: 'inherit', env: { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0' } });
  return bin;
}

export function buildParked(): string {
  return buildGo(`${ROOT}bench/go`, './parked', 'parked');
}

/** Starts bench/go/parked with N goroutines and waits for its READY line. */
export async function startParked(bin: string, n: number): Promise<{ child: ChildProcess; pid: number; url: string; stop: () => void }> {
  const child = spawn(bin, ['-n', String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line.startsWith('READY ')) return { child, pid: child.pid!, url: line.slice(6), stop: () => child.kill('SIGKILL') };
  }
  throw new Error('bench target exited before it was ready');
}
