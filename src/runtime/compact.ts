// A snapshot in columns, for the TUI: the worker that takes snapshots sends
// this instead of 100k Goroutine objects (which a structured clone would
// copy field by field, strings included, into a second isolate), and the
// main thread reads rows straight from it. Per goroutine it holds a few
// typed-array cells; strings, creators and labels are per-message tables;
// stacks are interned across messages and sent only when new. Goroutines are
// ordered by goid, so two snapshots can be compared by a merge.
import { type CreatedBy, type Frame, type Goroutine, type GoroutineStatus, type Snapshot, STATUS_NAMES } from './goroutine.ts';

const FLAG_LOCKED = 1;
/** A runtime (system) goroutine, in WireSnapshot.flags. */
export const FLAG_SYSTEM = 2;
const FLAG_ELIDED = 4;
const NONE = -1;
const NO_LABELS: Record<string, string> = Object.freeze({});
const NO_FRAMES: readonly Frame[] = Object.freeze([]);

/** What crosses from the worker (structured clone: typed arrays are copied as one block each). */
export interface WireSnapshot {
  readonly pid: number;
  readonly exe: string;
  readonly goVersion: string;
  readonly module: string | null;
  readonly takenAt: Date;
  readonly durationMs: number;
  readonly reads: number;
  readonly unreadable: number;
  readonly id: Float64Array;
  readonly gAddr: Float64Array;
  /** NaN: none. */
  readonly parentId: Float64Array;
  readonly rawStatus: Uint32Array;
  /** Index in STATUS_NAMES. */
  readonly status: Uint8Array;
  readonly flags: Uint8Array;
  /** -1: none (null). */
  readonly waitMinutes: Int32Array;
  /** Indexes in `strings`; -1: null. */
  readonly waitReason: Int32Array;
  readonly stackError: Int32Array;
  readonly startFunction: Int32Array;
  /** Index in `creators`; -1: null. */
  readonly createdBy: Int32Array;
  /** Index in `labelSets`; -1: no labels. */
  readonly labels: Int32Array;
  /** Index in `stackIds` (this message's stacks). */
  readonly stack: Uint32Array;
  readonly strings: readonly string[];
  readonly creators: readonly CreatedBy[];
  readonly labelSets: readonly Record<string, string>[];
  /** The interned ids of the stacks this message uses (id 0: no frames). */
  readonly stackIds: Uint32Array;
  /** Frames of the ids the receiver has not been sent yet. */
  readonly newStacks: readonly (readonly [number, readonly Frame[]])[];
}

/** The buffers of a message's columns, to transfer rather than copy (the sender made them for this message alone). */
export function wireBuffers(w: WireSnapshot): ArrayBuffer[] {
  return [...COLUMN_NAMES.map((k) => w[k]), w.stackIds].map((a) => a.buffer as ArrayBuffer);
}

/**
 * A snapshot's goroutines read by index: readers that walk 100k goroutines
 * (the wait analysis, the leak tracker) use this rather than Goroutine
 * objects, so a CompactSnapshot answers from its columns and no object per
 * goroutine is made.
 */
export interface GoroutineIndex {
  readonly length: number;
  id(i: number): number;
  gAddr(i: number): number;
  status(i: number): GoroutineStatus;
  waitReason(i: number): string | null;
  system(i: number): boolean;
  createdBy(i: number): CreatedBy | null;
  startFunction(i: number): string | null;
  frames(i: number): readonly Frame[];
}

/** The index of any snapshot: its columns when it has them, else its objects. */
export function goroutineIndex(snap: Snapshot): GoroutineIndex {
  if (snap instanceof CompactSnapshot) return snap;
  const gs = snap.goroutines;
  return {
    length: gs.length,
    id: (i) => gs[i]!.id,
    gAddr: (i) => gs[i]!.gAddr,
    status: (i) => gs[i]!.status,
    waitReason: (i) => gs[i]!.waitReason,
    system: (i) => gs[i]!.system,
    createdBy: (i) => gs[i]!.createdBy,
    startFunction: (i) => gs[i]!.startFunction,
    frames: (i) => gs[i]!.frames,
  };
}

/** Table of per-message values, indexed in order of first use. */
class Table<K, V = K> {
  readonly values: V[] = [];
  private readonly index = new Map<K, number>();
  of(key: K, value: () => V): number {
    let i = this.index.get(key);
    if (i === undefined) {
      i = this.values.length;
      this.values.push(value());
      this.index.set(key, i);
    }
    return i;
  }
}

/** Where a snapshot reader puts goroutines, by an index of its own (allgs order). */
export interface GoroutineSink {
  /** Goroutine i is `g`; a later put for the same i replaces it. */
  put(i: number, g: Goroutine): void;
  /** Goroutine i is not part of the snapshot (exited, or not readable after all). */
  drop(i: number): void;
}

/** The header of a snapshot: everything but its goroutines. */
export type SnapshotHeader = Omit<Snapshot, 'goroutines'>;

/**
 * The sending side: interns stacks by identity (the symbolizer shares one
 * frames array per distinct stack) and remembers which ids the receiver
 * holds, so each stack crosses once while it stays in use.
 */
export class SnapshotEncoder {
  private readonly ids = new WeakMap<readonly Frame[], number>();
  private nextId = 1;
  /** Ids the receiver holds: those of the last message (it drops the others). */
  private sent = new Set<number>();

  encode(snap: Snapshot): WireSnapshot {
    const w = this.writer(snap.goroutines.length);
    snap.goroutines.forEach((g, i) => w.put(i, g));
    return w.finish(snap);
  }

  /** Columns for up to n goroutines, filled as a reader finds them: no Goroutine object outlives its put. */
  writer(n: number): ColumnWriter {
    return new ColumnWriter(this, n);
  }

  /** Called by finish: the ids of this message's stacks, and which of them the receiver lacks. */
  commit(stackIds: readonly number[], frames: (id: number) => readonly Frame[]): (readonly [number, readonly Frame[]])[] {
    const newStacks: [number, readonly Frame[]][] = [];
    for (const id of stackIds) if (id !== 0 && !this.sent.has(id)) newStacks.push([id, frames(id)]);
    this.sent = new Set(stackIds);
    return newStacks;
  }

  stackId(frames: readonly Frame[]): number {
    if (frames.length === 0) return 0;
    let id = this.ids.get(frames);
    if (id === undefined) this.ids.set(frames, (id = this.nextId++));
    return id;
  }
}

/** The per-goroutine columns of a WireSnapshot. */
const COLUMN_NAMES = ['id', 'gAddr', 'parentId', 'rawStatus', 'status', 'flags', 'waitMinutes', 'waitReason', 'stackError', 'startFunction', 'createdBy', 'labels', 'stack'] as const;
type Columns = Pick<WireSnapshot, (typeof COLUMN_NAMES)[number]>;

function columns(n: number): Columns {
  return {
    id: new Float64Array(n), gAddr: new Float64Array(n), parentId: new Float64Array(n), rawStatus: new Uint32Array(n),
    status: new Uint8Array(n), flags: new Uint8Array(n), waitMinutes: new Int32Array(n), waitReason: new Int32Array(n),
    stackError: new Int32Array(n), startFunction: new Int32Array(n), createdBy: new Int32Array(n), labels: new Int32Array(n), stack: new Uint32Array(n),
  };
}

type Column = Float64Array | Uint32Array | Int32Array | Uint8Array;

/** col[x] becomes col[perm[x]] for every x, in place: one cycle at a time. */
function permute<T extends Column>(col: T, perm: Uint32Array): T {
  const done = new Uint8Array(perm.length);
  for (let start = 0; start < perm.length; start++) {
    if (done[start] === 1) continue;
    const first = col[start]!;
    let x = start;
    for (;;) {
      done[x] = 1;
      const from = perm[x]!;
      if (from === start) {
        col[x] = first;
        break;
      }
      col[x] = col[from]!;
      x = from;
    }
  }
  return col;
}

/** A message's columns filled row by row (GoroutineSink), then ordered by goid. */
export class ColumnWriter implements GoroutineSink {
  private readonly c: Columns;
  private readonly present: Uint8Array;
  private readonly strings = new Table<string>();
  private readonly creators = new Table<CreatedBy>();
  private readonly labelSets = new Table<string, Record<string, string>>();
  /** The frames of each interned stack id this message uses. */
  private readonly framesOf = new Map<number, readonly Frame[]>();

  constructor(private readonly encoder: SnapshotEncoder, n: number) {
    this.c = columns(n);
    this.present = new Uint8Array(n);
  }

  put(k: number, g: Goroutine): void {
    const c = this.c;
    this.present[k] = 1;
    c.id[k] = g.id;
    c.gAddr[k] = g.gAddr;
    c.parentId[k] = g.parentId ?? NaN;
    c.rawStatus[k] = g.rawStatus;
    c.status[k] = Math.max(0, STATUS_NAMES.indexOf(g.status));
    c.flags[k] = (g.lockedToThread ? FLAG_LOCKED : 0) | (g.system ? FLAG_SYSTEM : 0) | (g.framesElided ? FLAG_ELIDED : 0);
    c.waitMinutes[k] = g.waitMinutes ?? NONE;
    c.waitReason[k] = this.str(g.waitReason);
    c.stackError[k] = this.str(g.stackError);
    c.startFunction[k] = this.str(g.startFunction);
    c.createdBy[k] = g.createdBy === null ? NONE : this.creators.of(g.createdBy, () => g.createdBy!);
    c.labels[k] = labelsIndex(g.labels, this.labelSets);
    const id = this.encoder.stackId(g.frames);
    if (id !== 0 && !this.framesOf.has(id)) this.framesOf.set(id, g.frames);
    c.stack[k] = id; // an interned id until finish() makes it an index in stackIds
  }

  drop(k: number): void {
    this.present[k] = 0;
  }

  /** The message, goroutines in goid order. Tables may hold entries of replaced rows: harmless. */
  finish(header: SnapshotHeader): WireSnapshot {
    const c = this.c;
    const order: number[] = [];
    for (let k = 0; k < this.present.length; k++) if (this.present[k] === 1) order.push(k);
    let sorted = true;
    for (let x = 1; x < order.length && sorted; x++) sorted = c.id[order[x - 1]!]! < c.id[order[x]!]!;
    if (!sorted) order.sort((a, b) => c.id[a]! - c.id[b]!);
    const n = order.length;
    // The rows move within their own columns (a second set would be ~6 MB more at 100k goroutines); dropped rows go last and are cut off.
    const perm = new Uint32Array(this.present.length);
    perm.set(order);
    let tail = n;
    for (let k = 0; k < this.present.length; k++) if (this.present[k] !== 1) perm[tail++] = k;
    const out = Object.fromEntries(Object.entries(c).map(([name, col]) => [name, permute(col as Column, perm).subarray(0, n)])) as unknown as Columns;
    const stacks = new Table<number>();
    for (let x = 0; x < n; x++) {
      const id = out.stack[x]!;
      out.stack[x] = stacks.of(id, () => id);
    }
    const newStacks = this.encoder.commit(stacks.values, (id) => this.framesOf.get(id)!);
    return {
      pid: header.pid, exe: header.exe, goVersion: header.goVersion, module: header.module, takenAt: header.takenAt,
      durationMs: header.durationMs, reads: header.reads, unreadable: header.unreadable, ...out,
      strings: this.strings.values, creators: this.creators.values, labelSets: this.labelSets.values,
      stackIds: Uint32Array.from(stacks.values), newStacks,
    };
  }

  private str(s: string | null): number {
    return s === null ? NONE : this.strings.of(s, () => s);
  }
}

function labelsIndex(labels: Record<string, string>, table: Table<string, Record<string, string>>): number {
  let empty = true;
  for (const _ in labels) {
    empty = false;
    break;
  }
  return empty ? NONE : table.of(JSON.stringify(labels), () => labels);
}

/** The receiving side's stacks by interned id: those of the last message. */
export class StackTable {
  private byId = new Map<number, readonly Frame[]>();

  /** The frames of each of the message's stacks, in its order; forgets stacks it no longer uses. */
  apply(w: WireSnapshot): (readonly Frame[])[] {
    const added = new Map(w.newStacks);
    const next = new Map<number, readonly Frame[]>();
    const out: (readonly Frame[])[] = new Array(w.stackIds.length);
    for (let i = 0; i < w.stackIds.length; i++) {
      const id = w.stackIds[i]!;
      const frames = id === 0 ? NO_FRAMES : (added.get(id) ?? this.byId.get(id));
      if (frames === undefined) throw new Error(`snapshot: stack ${id} was never sent`);
      next.set(id, frames);
      out[i] = frames;
    }
    this.byId = next;
    return out;
  }
}

/**
 * A Snapshot read from columns. `goroutines` builds every Goroutine object
 * on each access (for the dump, and callers that want the plain shape);
 * the model reads the cells by index instead.
 */
export class CompactSnapshot implements Snapshot, GoroutineIndex {
  readonly pid: number;
  readonly exe: string;
  readonly goVersion: string;
  readonly module: string | null;
  readonly takenAt: Date;
  readonly durationMs: number;
  readonly reads: number;
  readonly unreadable: number;
  readonly length: number;

  constructor(readonly wire: WireSnapshot, private readonly stacks: readonly (readonly Frame[])[]) {
    this.pid = wire.pid;
    this.exe = wire.exe;
    this.goVersion = wire.goVersion;
    this.module = wire.module;
    this.takenAt = wire.takenAt;
    this.durationMs = wire.durationMs;
    this.reads = wire.reads;
    this.unreadable = wire.unreadable;
    this.length = wire.id.length;
  }

  /** A plain snapshot in compact form (tests, benches, --once callers of the model). */
  static from(snap: Snapshot): CompactSnapshot {
    if (snap instanceof CompactSnapshot) return snap;
    return CompactSnapshot.decode(new SnapshotEncoder().encode(snap), new StackTable());
  }

  static decode(w: WireSnapshot, table: StackTable): CompactSnapshot {
    return new CompactSnapshot(w, table.apply(w));
  }

  get goroutines(): Goroutine[] {
    const out: Goroutine[] = new Array(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.goroutine(i);
    return out;
  }

  goroutine(i: number): Goroutine {
    return {
      id: this.id(i), status: this.status(i), rawStatus: this.rawStatus(i), waitReason: this.waitReason(i), waitMinutes: this.waitMinutes(i),
      lockedToThread: this.lockedToThread(i), system: this.system(i), frames: this.frames(i) as Frame[], stackError: this.stackError(i),
      framesElided: this.framesElided(i), createdBy: this.createdBy(i), parentId: this.parentId(i), labels: this.labels(i),
      startFunction: this.startFunction(i), gAddr: this.gAddr(i),
    };
  }

  id(i: number): number { return this.wire.id[i]!; }
  gAddr(i: number): number { return this.wire.gAddr[i]!; }
  parentId(i: number): number | null { const p = this.wire.parentId[i]!; return Number.isNaN(p) ? null : p; }
  rawStatus(i: number): number { return this.wire.rawStatus[i]!; }
  status(i: number): GoroutineStatus { return STATUS_NAMES[this.wire.status[i]!]!; }
  statusIndex(i: number): number { return this.wire.status[i]!; }
  lockedToThread(i: number): boolean { return (this.wire.flags[i]! & FLAG_LOCKED) !== 0; }
  system(i: number): boolean { return (this.wire.flags[i]! & FLAG_SYSTEM) !== 0; }
  framesElided(i: number): boolean { return (this.wire.flags[i]! & FLAG_ELIDED) !== 0; }
  waitMinutes(i: number): number | null { const m = this.wire.waitMinutes[i]!; return m === NONE ? null : m; }
  waitReason(i: number): string | null { return this.str(this.wire.waitReason[i]!); }
  stackError(i: number): string | null { return this.str(this.wire.stackError[i]!); }
  startFunction(i: number): string | null { return this.str(this.wire.startFunction[i]!); }
  createdBy(i: number): CreatedBy | null { const c = this.wire.createdBy[i]!; return c === NONE ? null : this.wire.creators[c]!; }
  labels(i: number): Record<string, string> { const l = this.wire.labels[i]!; return l === NONE ? NO_LABELS : this.wire.labelSets[l]!; }
  frames(i: number): readonly Frame[] { return this.stacks[this.wire.stack[i]!]!; }
  /** Index of the goroutine's stack among `distinctStacks`. */
  stackIndex(i: number): number { return this.wire.stack[i]!; }
  get distinctStacks(): readonly (readonly Frame[])[] { return this.stacks; }

  private str(k: number): string | null {
    return k === NONE ? null : this.wire.strings[k]!;
  }
}
