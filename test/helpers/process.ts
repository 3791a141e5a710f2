// Starts a fixture binary, waits for its "READY http://HOST:PORT" line and
// hands out its pid and pprof URL. Every started process is killed when the
// test ends (ava teardown) and, as a last resort, when this process exits.

import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import http from 'node:http';
import type { ExecutionContext } from 'ava';

export interface Fixture {
  pid: number;
  /** http://127.0.0.1:PORT, serving net/http/pprof. */
  url: string;
  /** The runtime's own goroutine dump: GET url/debug/pprof/goroutine?debug=2. */
  dump(): Promise<string>;
  /** Stdout lines printed after READY (the most recent 1000). */
  lines(): string[];
  /** Kills the process (SIGKILL) and waits for it; idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Registers stop() as a teardown of this test. */
  t?: ExecutionContext;
  /** How long to wait for READY (default 60 s). */
  readyTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

export async function startFixture(binary: string, args: string[] = [], opts: StartOptions = {}): Promise<Fixture> {
  installExitHook();
  const child = spawn(binary, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    // The fixtures ask the kernel to kill them when we die, even by SIGKILL.
    env: { ...process.env, GTOP_DIE_WITH_PARENT: '1', ...opts.env },
  });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => live.delete(child));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    })();
    return stopping;
  };
  opts.t?.teardown(stop);

  const out = collectLines(child);
  try {
    const url = await waitReady(child, out, binary, opts.readyTimeoutMs ?? 60_000);
    return { pid: child.pid!, url, dump: () => httpGet(`${url}/debug/pprof/goroutine?debug=2`), lines: () => [...out.lines], stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

interface Output {
  lines: string[];
  stderr: string;
  onLine?: (line: string) => void;
}

function collectLines(child: ChildProcess): Output {
  const out: Output = { lines: [], stderr: '' };
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      out.lines.push(line);
      if (out.lines.length > 1000) out.lines.shift();
      out.onLine?.(line);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    // Keep the tail: that's where a Go panic or our fatal() ends up.
    out.stderr = (out.stderr + chunk).slice(-16_384);
  });
  return out;
}

function waitReady(child: ChildProcess, out: Output, binary: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      cleanup();
      const stderr = out.stderr.trim() || '(empty)';
      reject(new Error(`fixture ${binary} ${why} before printing READY; stderr:\n${stderr}`));
    };
    const onExit = (code: number | null, signal: string | null) => fail(`exited (code ${code}, signal ${signal})`);
    const onError = (err: Error) => fail(`could not start: ${err.message}`);
    const timer = setTimeout(() => fail(`did not get ready within ${timeoutMs} ms`), timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onError);
      out.onLine = undefined;
    };
    child.once('exit', onExit);
    child.once('error', onError);
    out.onLine = (line) => {
      const m = /^READY (http:\/\/\S+)$/.exec(line);
      if (m === null) return;
      cleanup();
      out.lines.length = 0;
      resolve(m[1]!);
    };
  });
}

/** GET with a fresh connection, so no keep-alive goroutine lingers in the target. */
export function httpGet(url: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 200) resolve(body);
        else reject(new Error(`GET ${url}: HTTP ${res.statusCode}: ${body.slice(0, 200)}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Processes holding `file` open (by scanning every /proc/N/fd). */
export function holders(file: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === file) out.push(Number(pid));
      } catch {
        // closed meanwhile
      }
    }
  }
  return out;
}
