// Parses the runtime's own goroutine dump (`/debug/pprof/goroutine?debug=2`,
// i.e. runtime.Stack(all)) — the oracle gtop is compared with. Format:
// runtime/traceback.go goroutineheader, traceback2, printcreatedby1 (see
// go-runtime.md §11). Strict: an unknown line is an error, so a format
// change shows up here rather than as a puzzling mismatch elsewhere.

export interface OracleFrame {
  function: string;
  file: string;
  line: number;
  /** Printed with "(...)" as arguments and no pc offset. */
  inlined: boolean;
  /** The "+0x…" pc offset from the function entry; null when not printed. */
  offset: number | null;
}

export interface OracleGoroutine {
  id: number;
  /** Bracket text before the first comma: the wait reason or status name, without " (scan)"/" (leaked)". */
  status: string;
  waitMinutes: number | null;
  lockedToThread: boolean;
  frames: OracleFrame[];
  createdBy: { function: string; file: string; line: number } | null;
  /** "in goroutine N" of the created-by line (Go 1.21+). */
  parentId: number | null;
  /** "goroutine running on other thread; stack unavailable". */
  stackUnavailable: boolean;
  /** The runtime left out frames ("...additional frames elided..." or "...N frames elided..."). */
  elided: boolean;
  /** The GC was scanning the stack (" (scan)"). */
  scan: boolean;
  /** Go 1.26 goroutine-leak detector marked it (" (leaked)"). */
  leaked: boolean;
  /** 1.24 "synctest group N" / 1.25+ "synctest bubble N". */
  synctest: number | null;
  /** 1.26 with GODEBUG=tracebacklabels=1. */
  labels: Record<string, string> | null;
  /** The first line, verbatim. */
  header: string;
}

export interface OracleDump {
  goroutines: OracleGoroutine[];
}

export class OracleParseError extends Error {
  constructor(lineNo: number, line: string, why: string) {
    super(`oracle dump line ${lineNo}: ${why}: ${JSON.stringify(line.slice(0, 200))}`);
    this.name = 'OracleParseError';
  }
}

// "goroutine 18 [chan receive, 2 minutes]:"; 1.22+ may put " gp=0x… m=…"
// between the id and the bracket at higher traceback levels.
const HEADER = /^goroutine (\d+)(?: gp=\S+ m=(?:nil|\d+ mp=\S+))? \[(.*)\]:$/;
const LOCATION = /^\t(.+):(\d+)(?: \+0x([0-9a-f]+))?(?: fp=0x[0-9a-f]+ sp=0x[0-9a-f]+ pc=0x[0-9a-f]+)?$/;
const CREATED_BY = /^created by (.+?)(?: in goroutine (\d+))?$/;
const ELIDED = /^\.\.\.(?:additional|\d+) frames elided\.\.\.$/;
const UNAVAILABLE = '\tgoroutine running on other thread; stack unavailable';

export function parseDump(text: string): OracleDump {
  const lines = text.split('\n');
  const goroutines: OracleGoroutine[] = [];
  let i = 0;
  while (i < lines.length) {
    if (lines[i] === '') {
      i++;
      continue;
    }
    const [g, next] = parseGoroutine(lines, i);
    goroutines.push(g);
    i = next;
  }
  return { goroutines };
}

/** Parses one goroutine starting at its header; returns it and the index after it. */
function parseGoroutine(lines: string[], start: number): [OracleGoroutine, number] {
  const header = lines[start]!;
  const m = HEADER.exec(header);
  if (m === null) throw new OracleParseError(start + 1, header, 'expected a goroutine header');
  const g: OracleGoroutine = {
    id: Number(m[1]),
    ...parseBracket(m[2]!, start + 1, header),
    frames: [],
    createdBy: null,
    parentId: null,
    stackUnavailable: false,
    elided: false,
    header,
  };
  let i = start + 1;
  let ancestors = false; // GODEBUG=tracebackancestors blocks: skipped
  for (; i < lines.length && lines[i] !== ''; i++) {
    const line = lines[i]!;
    if (ancestors) continue;
    if (line === UNAVAILABLE) g.stackUnavailable = true;
    else if (ELIDED.test(line)) g.elided = true;
    else if (line.startsWith('[originating from goroutine ')) ancestors = true;
    else if (line.startsWith('non-Go function at pc=')) continue; // cgo frame without symbolizer
    else if (line.startsWith('created by ')) {
      const c = CREATED_BY.exec(line)!;
      const loc = parseLocation(lines, ++i);
      g.createdBy = { function: c[1]!, file: loc.file, line: loc.line };
      g.parentId = c[2] === undefined ? null : Number(c[2]);
    } else {
      g.frames.push(parseFrame(lines, i));
      i++;
    }
  }
  return [g, i];
}

type BracketFields = Pick<OracleGoroutine, 'status' | 'waitMinutes' | 'lockedToThread' | 'scan' | 'leaked' | 'synctest' | 'labels'>;

/** The text between "[" and "]:" of a header. */
function parseBracket(text: string, lineNo: number, line: string): BracketFields {
  let labels: Record<string, string> | null = null;
  const at = text.indexOf(' labels:{');
  if (at >= 0) {
    labels = parseLabels(text.slice(at + ' labels:'.length), lineNo, line);
    text = text.slice(0, at);
  }
  const [first = '', ...rest] = text.split(', ');
  let status = first;
  const scan = status.endsWith(' (scan)') || status.includes(' (scan) ');
  status = status.replace(' (scan)', '');
  const leaked = status.includes(' (leaked)');
  status = status.replace(' (leaked)', '');
  const f: BracketFields = { status, waitMinutes: null, lockedToThread: false, scan, leaked, synctest: null, labels };
  for (const part of rest) {
    let m: RegExpExecArray | null;
    if ((m = /^(\d+) minutes$/.exec(part)) !== null) f.waitMinutes = Number(m[1]);
    else if (part === 'locked to thread') f.lockedToThread = true;
    else if ((m = /^synctest (?:group|bubble) (\d+)$/.exec(part)) !== null) f.synctest = Number(m[1]);
    else throw new OracleParseError(lineNo, line, `unknown header field "${part}"`);
  }
  return f;
}

/** `{"k": "v", "k2": "v2"}` with Go-quoted strings (strconv.Quote-like). */
function parseLabels(text: string, lineNo: number, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const bad = () => new OracleParseError(lineNo, line, 'malformed labels');
  const body = /^\{(.*)\}$/.exec(text);
  if (body === null) throw bad();
  const re = /\s*("(?:[^"\\]|\\.)*"): ("(?:[^"\\]|\\.)*")\s*(,|$)/y;
  const s = body[1]!;
  re.lastIndex = 0;
  while (re.lastIndex < s.length) {
    const m = re.exec(s);
    if (m === null) throw bad();
    labels[unquote(m[1]!)] = unquote(m[2]!);
  }
  return labels;
}

function unquote(q: string): string {
  try {
    return JSON.parse(q) as string;
  } catch {
    return q.slice(1, -1); // Go escapes like \x00 that JSON lacks: keep raw
  }
}

function parseFrame(lines: string[], i: number): OracleFrame {
  const line = lines[i]!;
  const open = line.lastIndexOf('(');
  if (open <= 0 || !line.endsWith(')')) throw new OracleParseError(i + 1, line, 'expected a frame "func(args)"');
  const args = line.slice(open + 1, -1);
  const loc = parseLocation(lines, i + 1);
  const inlined = args === '...';
  return { function: line.slice(0, open), file: loc.file, line: loc.line, inlined, offset: loc.offset };
}

function parseLocation(lines: string[], i: number): { file: string; line: number; offset: number | null } {
  const line = lines[i] ?? '';
  const m = LOCATION.exec(line);
  if (m === null) throw new OracleParseError(i + 1, line, 'expected "\\tfile:line [+0xoff]"');
  return { file: m[1]!, line: Number(m[2]), offset: m[3] === undefined ? null : parseInt(m[3], 16) };
}

/** Same as parseDump. */
export const parseOracle = parseDump;

function framesEqual(a: OracleFrame[], b: OracleFrame[]): boolean {
  return (
    a.length === b.length &&
    a.every((f, k) => {
      const o = b[k]!;
      return f.function === o.function && f.file === o.file && f.line === o.line && f.inlined === o.inlined && f.offset === o.offset;
    })
  );
}

function createdByEqual(a: OracleGoroutine['createdBy'], b: OracleGoroutine['createdBy']): boolean {
  if (a === null || b === null) return a === b;
  return a.function === b.function && a.file === b.file && a.line === b.line;
}

/**
 * Goroutines present in both dumps with the same id, status, frames,
 * creator and parent: the ones that did not move in between, and so the set
 * a monitor's listing (taken between the two dumps) must reproduce. Ones
 * whose stack was unavailable are left out (nothing to compare).
 */
export function stableGoroutines(a: OracleDump, b: OracleDump): OracleGoroutine[] {
  const byId = new Map(b.goroutines.map((g) => [g.id, g]));
  return a.goroutines.filter((g) => {
    const o = byId.get(g.id);
    return (
      o !== undefined &&
      !g.stackUnavailable &&
      !o.stackUnavailable &&
      g.status === o.status &&
      g.parentId === o.parentId &&
      g.elided === o.elided &&
      framesEqual(g.frames, o.frames) &&
      createdByEqual(g.createdBy, o.createdBy)
    );
  });
}
