// Leak suspects: creation sites whose goroutines keep piling up blocked with
// no progress on what they wait for. Fed one snapshot (and its wait graph)
// at a time, e.g. once a second. A site is a suspect when its blocked count
// grows through the window AND none of its blocked goroutines ever leaves
// its wait AND the buffered channels they wait on do not move. A pool of
// idle workers that get work has a flat count, and its channel moves or its
// goroutines come and go: not a suspect.
import { goroutineIndex } from '../runtime/compact.ts';
import type { CreatedBy, Snapshot } from '../runtime/goroutine.ts';
import { indexOfSorted } from '../sorted.ts';
import { type WaitGraph, type WaitTarget, hex } from './model.ts';
import { targetKey } from './reach.ts';

export interface LeakSite { function: string; file: string; line: number }

export interface LeakSuspect {
  /** Where the goroutines were created (the `created by` line). */
  site: LeakSite;
  /** The goroutines' own function (most common start function), for the label. */
  function: string;
  /** Blocked goroutines of the site in the latest snapshot. */
  blocked: number;
  /** The most common runtime wait reason among them. */
  waitReason: string;
  /** Net growth of the blocked count over the window, and its least-squares slope. */
  growth: number;
  perSecond: number;
  windowSeconds: number;
  snapshots: number;
  /** Longest any of them has been seen blocked (or g.waitsince says), in seconds. */
  oldestSeconds: number;
  /** Goroutines of the site that left their wait during the window (0 for a leak). */
  departed: number;
  /** Distinct channels they wait on; the one channel when they all wait on the same. */
  channels: number;
  channel: string | null;
  /** Of them, proven never to wake (scanReachability), when known. */
  stuck: number | null;
  score: number;
  /** One line: "main.handler.func2: 12,408 blocked on chan send, +40/s, oldest 2h13m". */
  summary: string;
  evidence: string[];
}

export interface LeakTrackerOptions {
  /** Snapshots kept (default 60). */
  window?: number;
  /** Minimum net growth over the window (default 5). */
  minGrowth?: number;
  /** Minimum snapshots and seconds before anything is a suspect (default 3 and 2). */
  minSnapshots?: number;
  minSeconds?: number;
}

const MAX_DEPARTED_RATIO = 0.05;

/** goids: only the latest sample keeps them (a window of 60 lists of 100k goids would be ~50 MB). */
interface SiteSample { count: number; goids: number[] | null }
interface Sample { t: number; sites: Map<string, SiteSample> }
/**
 * How a goroutine is blocked: one record shared by every goroutine blocked
 * the same way (at 100k goroutines, a few hundred records rather than 100k
 * objects, each with its own strings and arrays).
 */
interface WaitRecord { site: string; signature: string; reason: string; fn: string; targets: readonly string[]; refs: number }
interface ChanState { key: string; movedAt: number[] }

const NO_TARGETS: readonly string[] = Object.freeze([]);

export class LeakTracker {
  private readonly samples: Sample[] = [];
  // Per blocked goroutine of the latest add(), in columns sorted by goid
  // (a 100k-entry Map was 3.5 MB): its record, since when it is blocked that
  // way, and g.waitsince's figure (NaN: none).
  private goids = new Float64Array(0);
  private recOf = new Int32Array(0);
  private firstSeen = new Float64Array(0);
  private blockedMs = new Float64Array(0);
  private readonly records: (WaitRecord | undefined)[] = [];
  private readonly recordIds = new Map<string, number>();
  private readonly freeRecords: number[] = [];
  private readonly sites = new Map<string, LeakSite>();
  /** Per site: times a blocked goroutine left its wait. */
  private readonly departures = new Map<string, number[]>();
  private readonly chans = new Map<number, ChanState>();
  private stuck: Set<number> | undefined;
  private readonly opts: Required<LeakTrackerOptions>;

  constructor(opts: LeakTrackerOptions = {}) {
    this.opts = { window: 60, minGrowth: 5, minSnapshots: 3, minSeconds: 2, ...opts };
  }

  /** Adds one snapshot; `stuck` (goids proven never to wake) strengthens the evidence when known. */
  add(snap: Snapshot, waits?: WaitGraph, stuck?: Set<number>): void {
    const t = snap.takenAt.getTime();
    this.stuck = stuck;
    const sites = new Map<string, SiteSample>();
    // The wait graph shares one targets array among goroutines waiting on the same objects: keyed once per array.
    const keysOf = new Map<readonly WaitTarget[], { keys: readonly string[]; joined: string }>();
    const gs = goroutineIndex(snap);
    const size = gs.length;
    const goids = new Float64Array(size), recOf = new Int32Array(size), firstSeen = new Float64Array(size), blockedMs = new Float64Array(size);
    const seenBefore = new Uint8Array(this.goids.length);
    let n = 0;
    for (let i = 0; i < size; i++) {
      const status = gs.status(i);
      const createdBy = gs.createdBy(i);
      if (gs.system(i) || (status !== 'waiting' && status !== 'leaked') || !createdBy) continue;
      const goid = gs.id(i);
      const waitReason = gs.waitReason(i);
      const frames = gs.frames(i);
      const key = siteKey(createdBy);
      if (!this.sites.has(key)) this.sites.set(key, { function: createdBy.function, file: createdBy.file, line: createdBy.line });
      const w = waits?.byGoroutine.get(goid);
      let tk = w ? keysOf.get(w.targets) : undefined;
      if (w && !tk) {
        const keys = w.targets.length === 0 ? NO_TARGETS : w.targets.map(targetKey);
        keysOf.set(w.targets, (tk = { keys, joined: keys.join(',') }));
      }
      const signature = `${waitReason}|${tk?.joined ?? ''}|${frames[0]?.function ?? ''}:${frames[0]?.line ?? 0}`;
      const id = this.record(key, signature, waitReason ?? status, gs.startFunction(i) ?? frames[frames.length - 1]?.function ?? '?', tk?.keys ?? NO_TARGETS);
      const prevSlot = this.slotOf(goid);
      let first = t;
      if (prevSlot >= 0) {
        const prev = this.records[this.recOf[prevSlot]!]!;
        if (prev.signature !== signature || prev.site !== key) this.depart(prev.site, t);
        else first = this.firstSeen[prevSlot]!;
        seenBefore[prevSlot] = 1;
      }
      this.records[id]!.refs++;
      goids[n] = goid;
      recOf[n] = id;
      firstSeen[n] = first;
      blockedMs[n] = w?.blockedMs ?? NaN;
      n++;
      let s = sites.get(key);
      if (!s) sites.set(key, (s = { count: 0, goids: [] }));
      s.count++;
      s.goids!.push(goid);
    }
    // Records are counted for this snapshot before the last one's are released, so shared ones survive.
    for (let i = 0; i < this.goids.length; i++) {
      if (!seenBefore[i]) this.depart(this.records[this.recOf[i]!]!.site, t); // exited, or running again
      this.unref(this.recOf[i]!);
    }
    const order = goidOrder(goids, n);
    this.goids = permute(goids, order, new Float64Array(n));
    this.recOf = permute(recOf, order, new Int32Array(n));
    this.firstSeen = permute(firstSeen, order, new Float64Array(n));
    this.blockedMs = permute(blockedMs, order, new Float64Array(n));
    if (waits) this.noteChannels(waits, t);
    const before = this.samples[this.samples.length - 1];
    if (before) for (const s of before.sites.values()) s.goids = null;
    this.samples.push({ t, sites });
    while (this.samples.length > this.opts.window) this.samples.shift();
    const oldest = this.samples[0]!.t;
    for (const [k, ts] of this.departures) {
      const kept = ts.filter((x) => x >= oldest);
      if (kept.length === 0) this.departures.delete(k);
      else this.departures.set(k, kept);
    }
  }

  /** The id of the shared record for this way of being blocked (its refs not yet counted). */
  private record(site: string, signature: string, reason: string, fn: string, targets: readonly string[]): number {
    const k = `${site}\n${signature}\n${reason}\n${fn}`;
    let id = this.recordIds.get(k);
    if (id === undefined) {
      id = this.freeRecords.pop() ?? this.records.length;
      this.records[id] = { site, signature, reason, fn, targets, refs: 0 };
      this.recordIds.set(k, id);
    }
    return id;
  }

  private unref(id: number): void {
    const r = this.records[id]!;
    if (--r.refs > 0) return;
    this.recordIds.delete(`${r.site}\n${r.signature}\n${r.reason}\n${r.fn}`);
    this.records[id] = undefined;
    this.freeRecords.push(id);
  }

  /** The goroutine's index in the columns, -1 when it was not blocked in the latest add(). */
  private slotOf(goid: number): number {
    return indexOfSorted(this.goids, goid);
  }

  private depart(site: string, t: number): void {
    let d = this.departures.get(site);
    if (!d) this.departures.set(site, (d = []));
    d.push(t);
  }

  /** Buffered channels whose buffer moved (len, sendx or recvx changed) since the last snapshot. */
  private noteChannels(waits: WaitGraph, t: number): void {
    const live = new Set<number>();
    for (const c of waits.channels) {
      live.add(c.addr);
      const key = `${c.len}/${c.sendx}/${c.recvx}/${c.closed}`;
      const prev = this.chans.get(c.addr);
      if (!prev) this.chans.set(c.addr, { key, movedAt: [] });
      else if (prev.key !== key) { prev.key = key; prev.movedAt.push(t); }
    }
    for (const a of this.chans.keys()) if (!live.has(a)) this.chans.delete(a);
  }

  /**
   * Since when (epoch ms) the goroutine has been seen blocked on the same
   * thing, the longer of gtop's own observation and g.waitsince; undefined
   * when it is not blocked in the latest snapshot. For "waiting for" columns.
   */
  blockedSince(goid: number): number | undefined {
    const slot = this.slotOf(goid);
    if (slot < 0) return undefined;
    const first = this.firstSeen[slot]!;
    const now = this.samples[this.samples.length - 1]?.t ?? first;
    return Math.min(first, now - (this.blockedOf(slot) ?? 0));
  }

  private blockedOf(slot: number): number | null {
    const b = this.blockedMs[slot]!;
    return Number.isNaN(b) ? null : b;
  }

  suspects(): LeakSuspect[] {
    const n = this.samples.length;
    if (n < this.opts.minSnapshots) return [];
    const first = this.samples[0]!;
    const last = this.samples[n - 1]!;
    const seconds = (last.t - first.t) / 1000;
    if (seconds < this.opts.minSeconds) return [];
    const out: LeakSuspect[] = [];
    for (const [key, now] of last.sites) {
      const series = this.samples.map((s) => ({ t: (s.t - first.t) / 1000, c: s.sites.get(key)?.count ?? 0 }));
      const growth = now.count - series[0]!.c;
      const rises = series.slice(1).filter((p, i) => p.c >= series[i]!.c).length;
      if (growth < this.opts.minGrowth || rises < (n - 1) * 0.8) continue;
      const departed = this.departures.get(key)?.length ?? 0;
      const goids = now.goids!;
      const slots = goids.map((g) => this.slotOf(g));
      // A few departures are tolerated (a goroutine woken by shutdown or a
      // rare reply); a site whose goroutines come and go is not leaking.
      if (departed > MAX_DEPARTED_RATIO * Math.max(growth, 1) || this.movedChannels(this.recordsOf(slots), first.t) > 0) continue;
      out.push(this.suspect(key, series, { growth, departed, seconds, n }, goids, slots, last.t));
    }
    return out.sort((a, b) => b.score - a.score);
  }

  /** The distinct records of these goroutines. */
  private recordsOf(slots: number[]): WaitRecord[] {
    const ids = new Set<number>();
    for (const s of slots) ids.add(this.recOf[s]!);
    return [...ids].map((id) => this.records[id]!);
  }

  private movedChannels(records: WaitRecord[], since: number): number {
    const addrs = new Set<number>();
    for (const m of records) for (const k of m.targets) if (k.startsWith('chan@')) addrs.add(Number(k.slice(5)));
    let moved = 0;
    for (const a of addrs) if (this.chans.get(a)?.movedAt.some((x) => x >= since)) moved++;
    return moved;
  }

  private suspect(
    key: string, series: { t: number; c: number }[], w: { growth: number; departed: number; seconds: number; n: number },
    goids: number[], slots: number[], now: number,
  ): LeakSuspect {
    const { growth, departed, seconds, n } = w;
    const site = this.sites.get(key)!;
    const perSecond = slope(series);
    const members = slots.map((s) => this.records[this.recOf[s]!]!);
    const reason = mode(members.map((m) => m.reason));
    const fn = mode(members.map((m) => m.fn));
    let oldestMs = -Infinity;
    for (const s of slots) oldestMs = Math.max(oldestMs, now - this.firstSeen[s]!, this.blockedOf(s) ?? 0);
    const oldestSeconds = oldestMs / 1000;
    const chanKeys = new Set(this.recordsOf(slots).flatMap((m) => m.targets.filter((k) => k.startsWith('chan@'))));
    const stuck = this.stuck ? goids.filter((g) => this.stuck!.has(g)).length : null;
    const blocked = members.length;
    const summary = `${fn}: ${blocked.toLocaleString('en-US')} blocked on ${reason}, +${fmtRate(perSecond)}/s, oldest ${fmtDuration(oldestSeconds)}`;
    const evidence = [
      `blocked goroutines created at ${site.function} ${site.file}:${site.line}: ${series[0]!.c} → ${blocked} over ${seconds.toFixed(0)} s (${n} snapshots, rising or flat in every interval but ${countFalls(series)})`,
      departed === 0 ? 'none of them left its wait during the window (same wait reason, objects and frame in every snapshot)'
        : `only ${departed} left its wait during the window, against ${growth} new`,
      chanKeys.size === 0 ? 'they wait on no channel'
        : chanKeys.size === 1 ? `they all wait on one channel ${hex(Number([...chanKeys][0]!.slice(5)))}, which did not move`
        : `they wait on ${chanKeys.size} distinct channels (one each: typical of a per-request channel nobody reads), none of which moved`,
    ];
    if (stuck !== null) evidence.push(`${stuck} of ${blocked} proven never to wake (no running goroutine or global reaches what they wait on)`);
    const score = perSecond * Math.log2(2 + blocked) * (stuck ? 1 + stuck / blocked : 1);
    return {
      site, function: fn, blocked, waitReason: reason, growth, perSecond, windowSeconds: seconds, snapshots: n, oldestSeconds,
      departed, channels: chanKeys.size, channel: chanKeys.size === 1 ? hex(Number([...chanKeys][0]!.slice(5))) : null,
      stuck, score, summary, evidence,
    };
  }
}

/** Indexes of goids[0, n) in ascending goid order. */
function goidOrder(goids: Float64Array, n: number): Uint32Array {
  const order = new Uint32Array(n);
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, goids[i]!);
  if (max < 2 ** 32 && n <= INDEX_SPAN) {
    // goid and index in one double (exact below 2^53), sorted natively: no comparator calls.
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = goids[i]! * INDEX_SPAN + i;
    keys.sort();
    for (let i = 0; i < n; i++) order[i] = keys[i]! % INDEX_SPAN;
    return order;
  }
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((a, b) => goids[a]! - goids[b]!);
}
const INDEX_SPAN = 2 ** 21;

function permute<A extends Float64Array | Int32Array>(from: A, order: Uint32Array, to: A): A {
  for (let i = 0; i < order.length; i++) to[i] = from[order[i]!]!;
  return to;
}

function siteKey(c: CreatedBy): string {
  return `${c.function} ${c.file}:${c.line}`;
}

/** Least-squares slope of count over seconds. */
export function slope(points: { t: number; c: number }[]): number {
  const n = points.length;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const mc = points.reduce((s, p) => s + p.c, 0) / n;
  let num = 0, den = 0;
  for (const p of points) { num += (p.t - mt) * (p.c - mc); den += (p.t - mt) ** 2; }
  return den === 0 ? 0 : num / den;
}

function countFalls(series: { c: number }[]): number {
  return series.slice(1).filter((p, i) => p.c < series[i]!.c).length;
}

function mode(xs: string[]): string {
  const counts = new Map<string, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
}

function fmtRate(r: number): string {
  return r >= 10 ? Math.round(r).toLocaleString('en-US') : r.toFixed(1);
}

/** 2h13m, 4m05s, 12s. */
export function fmtDuration(s: number): string {
  const sec = Math.floor(s);
  if (sec >= 3600) return `${Math.floor(sec / 3600)}h${String(Math.floor((sec % 3600) / 60)).padStart(2, '0')}m`;
  if (sec >= 60) return `${Math.floor(sec / 60)}m${String(sec % 60).padStart(2, '0')}s`;
  return `${sec}s`;
}
