// Command-line parsing. Every mistake is a usage error (exit 2) that says
// what was wrong and how to ask for help.
import { GtopError } from '../errors.ts';

export interface Options {
  pid: number;
  once: boolean;
  json: boolean;
  system: boolean;
  help: boolean;
  version: boolean;
}

export const USAGE = `usage: gtop -p PID [--once] [--json] [--system]

Shows the goroutines of a running Go process, read from outside: no code in
the target, no restart, no stop-the-world. Run as root.

  -p, --pid PID   the Go process to watch
  --once          print every goroutine once, like the runtime's debug=2 dump
  --json          with --once: print JSON (schema in the README)
  --system        also show runtime-internal goroutines
  -h, --help      this help
  --version       gtop's version
`;

export function parseArgs(argv: readonly string[]): Options {
  const o: Options = { pid: 0, once: false, json: false, system: false, help: false, version: false };
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
      case '--once': o.once = true; break;
      case '--json': o.json = true; break;
      case '--system': o.system = true; break;
      case '-h': case '--help': o.help = true; break;
      case '--version': o.version = true; break;
      default:
        if (/^-p\d+$/.test(a)) pidText = a.slice(2);
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
  return o;
}
