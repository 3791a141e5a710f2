// Command-line parsing. Every mistake is a usage error (exit 2) that says
// what was wrong and how to ask for help.
import { GtopError } from '../errors.ts';

export interface Options {
  pid: number;
  once: boolean;
  json: boolean;
  /** Seconds between refreshes of the interactive view. */
  delay: number;
  system: boolean;
  help: boolean;
  version: boolean;
}

export const USAGE = `usage: gtop -p PID [-d SECONDS] [--system]
       gtop -p PID --once [--json] [--system]

Shows the goroutines of a running Go process, read from outside: no code in
the target, no restart, no stop-the-world. Run as root. Without --once it
opens an interactive, top-like view (press ? in it for the keys).

  -p, --pid PID   the Go process to watch
  -d, --delay SECONDS
                  seconds between refreshes of the interactive view (default 1)
  --once          print every goroutine once, like the runtime's debug=2 dump
  --json          with --once: print JSON (schema in the README)
  --system        also show runtime-internal goroutines
  -h, --help      this help
  --version       gtop's version
`;

export function parseArgs(argv: readonly string[]): Options {
  const o: Options = { pid: 0, once: false, json: false, delay: 1, system: false, help: false, version: false };
  let delayText: string | undefined;
  let pidText: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new GtopError('usage', `${flag} needs a value (see gtop --help)`);
      return v;
    };
    switch (flag) {
      case '-p': case '--pid': pidText = value(); break;
      case '-d': case '--delay': delayText = value(); break;
      case '--once': o.once = true; break;
      case '--json': o.json = true; break;
      case '--system': o.system = true; break;
      case '-h': case '--help': o.help = true; break;
      case '--version': o.version = true; break;
      default:
        if (/^-p\d+$/.test(a)) pidText = a.slice(2);
        else if (/^-d[\d.]+$/.test(a)) delayText = a.slice(2);
        else throw new GtopError('usage', `unknown argument ${JSON.stringify(a)} (see gtop --help)`);
    }
  }
  if (o.help || o.version) return o;
  if (pidText === undefined) throw new GtopError('usage', 'which process? give -p PID (see gtop --help)');
  if (!/^\d+$/.test(pidText) || Number(pidText) <= 0 || Number(pidText) > 0x3fffffff) {
    throw new GtopError('usage', `-p needs a process ID, got ${JSON.stringify(pidText)}`);
  }
  o.pid = Number(pidText);
  if (o.json && !o.once) throw new GtopError('usage', '--json needs --once');
  if (delayText !== undefined) {
    if (o.once) throw new GtopError('usage', '-d sets the refresh of the interactive view; it has no meaning with --once');
    o.delay = parseDelay(delayText);
  }
  return o;
}

function parseDelay(text: string): number {
  const d = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(d >= 0.1 && d <= 3600)) throw new GtopError('usage', `-d needs seconds between 0.1 and 3600, got ${JSON.stringify(text)}`);
  return d;
}
