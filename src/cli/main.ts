// The entry point and its one error boundary: a GtopError prints one line and
// exits with its code; anything else is a bug and prints its stack.
import { readFileSync } from 'node:fs';
import { GtopError } from '../errors.ts';
import { Session } from '../session.ts';
import { analysisJSON } from './analysis-json.ts';
import { USAGE, parseArgs } from './args.ts';
import { formatText, toJSON } from './format.ts';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function red(s: string): string {
  return process.env['NO_COLOR'] || !process.stderr.isTTY ? s : `\x1b[31m${s}\x1b[0m`;
}

async function run(argv: readonly string[]): Promise<number> {
  const opts = parseArgs(argv);
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (opts.version) {
    process.stdout.write(`gtop ${version()}\n`);
    return 0;
  }
  if (opts.events || opts.duration !== undefined) {
    // The eBPF path (libbpf through koffi) loads only when asked for.
    const { runWatch } = await import('./watch.ts');
    return runWatch(opts);
  }
  if (!opts.once) {
    // Loaded only here: Ink and React are not needed for --once.
    const { runTui } = await import('./tui.ts');
    return runTui(opts);
  }
  const session = Session.open(opts.pid);
  try {
    const snap = session.snapshot();
    const out = opts.json ? `${JSON.stringify({ ...toJSON(snap, opts), ...analysisJSON(session, snap, opts) })}\n` : formatText(snap, opts);
    await new Promise<void>((resolve, reject) => process.stdout.write(out, (err) => (err ? reject(err) : resolve())));
  } finally {
    session.close();
  }
  return 0;
}

export async function main(argv: readonly string[]): Promise<void> {
  let code: number;
  try {
    code = await run(argv);
  } catch (err) {
    if (err instanceof GtopError) {
      process.stderr.write(`${red(`gtop: ${err.message}`)}\n`);
      code = err.exitCode;
    } else {
      process.stderr.write(`gtop: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      code = 1;
    }
  }
  process.exitCode = code;
}

await main(process.argv.slice(2));
