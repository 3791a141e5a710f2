// Runs the real bin/gtop as a child process, the way a user would.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const GTOP_BIN = fileURLToPath(new URL('../../bin/gtop', import.meta.url));

export interface GtopResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runGtop(args: readonly string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<GtopResult> {
  return spawnGtop(args, opts).result;
}

/** Starts gtop and hands out the child (for tests that act while it runs) and its outcome. */
export function spawnGtop(args: readonly string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): { child: ChildProcess; result: Promise<GtopResult> } {
  const child = spawn(process.execPath, [GTOP_BIN, ...args], {
    env: { ...process.env, GTOP_FROM_SOURCE: '1', NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result = new Promise<GtopResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, result };
}
