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
  /** --duration: seconds to watch with the probes before the --once snapshot. */
  duration?: number;
  /** --events: stream probe events as JSON lines until interrupted. */
  events: boolean;
  /** --probes off|light|full (default light). */
  probes: 'off' | 'light' | 'full';
  /** --overhead PCT: the budget, % of one CPU (default 1). */
  overheadPct: number;
  /** --deadlocks: run the deadlock proof in --json even on a large process. */
  deadlocks: boolean;
}

export const USAGE = `usage: gtop -p PID [-d SECONDS] [--system] [--probes off|light|full] [--overhead PCT]
       gtop -p PID --once [--json [--deadlocks]] [--system]
       gtop -p PID --once [--json] --duration 5s [--probes off|light|full] [--overhead PCT]
       gtop -p PID --events [--duration 5s] [--probes off|light|full] [--overhead PCT]

Shows the goroutines of a running Go process, read from outside: no code in
the target, no restart, no stop-the-world. Run as root. Without --once it
opens an interactive, top-like view (press ? in it for the keys).

  -p, --pid PID   the Go process to watch
  -d, --delay SECONDS
                  seconds between refreshes of the interactive view (default 1)
  --once          print every goroutine once, like the runtime's debug=2 dump
  --json          with --once: print JSON (schema in the README), with the
                  channels and locks goroutines wait on and proven deadlocks
  --deadlocks     with --json: prove deadlocks even above 10,000 goroutines
                  (a heap scan: seconds on a large process)
  --system        also show runtime-internal goroutines
  --duration TIME with --once: watch with eBPF probes for TIME (5s, 500ms, 2m)
                  first: exact blocked times, goroutines created/exited
  --events        stream goroutine events (park, ready, exit, ...) as JSON
                  lines until interrupted (or for --duration)
  --probes MODE   off, light (default: cheap probes: park, ready, exit) or
                  full (adds create and makechan, dearer per hit)
  --overhead PCT  the most CPU the probes may take from the target, % of one
                  CPU (default 1); hotter probes are detached meanwhile
  -h, --help      this help
  --version       gtop's version
`;

export function parseArgs(argv: readonly string[]): Options {
  const o: Options = { pid: 0, once: false, json: false, delay: 1, system: false, help: false, version: false, events: false, probes: 'light', overheadPct: 1, deadlocks: false };
  let durationText: string | undefined;
  let overheadText: string | undefined;
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
      case '--duration': durationText = value(); break;
      case '--events': o.events = true; break;
      case '--deadlocks': o.deadlocks = true; break;
      case '--probes': o.probes = parseProbes(value()); break;
      case '--overhead': overheadText = value(); break;
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
  parseWatch(o, durationText, overheadText);
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

function parseProbes(text: string): Options['probes'] {
  if (text === 'off' || text === 'light' || text === 'full') return text;
  throw new GtopError('usage', `--probes needs off, light or full, got ${JSON.stringify(text)}`);
}

/** "5s", "500ms", "2m" or plain seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  const secs = m ? Number(m[1]) * (m[2] === 'ms' ? 0.001 : m[2] === 'm' ? 60 : 1) : NaN;
  if (!(secs >= 0.05 && secs <= 86_400)) throw new GtopError('usage', `--duration needs a time between 50ms and 24h (e.g. 5s), got ${JSON.stringify(text)}`);
  return secs;
}

function parseWatch(o: Options, durationText: string | undefined, overheadText: string | undefined): void {
  if (o.events && o.once) throw new GtopError('usage', '--events streams until interrupted; it does not combine with --once');
  if (durationText !== undefined) {
    if (!o.once && !o.events) throw new GtopError('usage', '--duration needs --once or --events');
    o.duration = parseDuration(durationText);
  }
  if (overheadText !== undefined) {
    const p = /^\d+(\.\d+)?%?$/.test(overheadText) ? Number(overheadText.replace('%', '')) : NaN;
    if (!(p > 0 && p <= 100)) throw new GtopError('usage', `--overhead needs a percentage of one CPU between 0 and 100, got ${JSON.stringify(overheadText)}`);
    o.overheadPct = p;
  }
}
