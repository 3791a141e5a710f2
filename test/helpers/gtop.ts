// Runs the real bin/gtop as a child process, the way a user would.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const GTOP_BIN = fileURLToPath(new URL('../../bin/gtop', import.meta.url));

export interface GtopResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runGtop(args: readonly string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<GtopResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GTOP_BIN, ...args], {
      env: { ...process.env, GTOP_FROM_SOURCE: '1', NO_COLOR: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
