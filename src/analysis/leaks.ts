// Leak suspects: creation sites whose goroutines keep piling up blocked with
// no progress on what they wait for. Fed one snapshot (and its wait graph)
// at a time, e.g. once a second. A site is a suspect when its blocked count
// grows through the window AND none of its blocked goroutines ever leaves
// its wait AND the buffered channels they wait on do not move. A pool of
// idle workers that get work has a flat count, and its channel moves or its
// goroutines come and go: not a suspect.
import type { Goroutine, Snapshot } from '../runtime/goroutine.ts';
import { type WaitGraph, hex } from './model.ts';
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

/** goids: only the latest sample keeps them (a window of 60 sets of 100k goids would be ~150 MB). */
interface SiteSample { count: number; goids: Set<number> | null }
interface Sample { t: number; sites: Map<string, SiteSample> }
interface Tracked { site: string; signature: string; firstSeen: number; blockedMs: number | null; reason: string; fn: string; targets: string[] }
interface ChanState { key: string; movedAt: number[] }

export class LeakTracker {
  private readonly samples: Sample[] = [];
  private readonly tracked = new Map<number, Tracked>();
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
    const seen = new Set<number>();
    // What `tracked` keeps per goroutine is one copy per distinct string: 100k
    // goroutines share a few hundred sites and signatures, but each built its own.
    const pool = new Map<string, string>();
    const one = (x: string): string => {
      const hit = pool.get(x);
      if (hit !== undefined) return hit;
      pool.set(x, x);
      return x;
    };
    for (const g of snap.goroutines) {
      if (g.system || (g.status !== 'waiting' && g.status !== 'leaked') || !g.createdBy) continue;
      const key = one(siteKey(g));
      if (!this.sites.has(key)) this.sites.set(key, { function: g.createdBy.function, file: g.createdBy.file, line: g.createdBy.line });
      const w = waits?.byGoroutine.get(g.id);
      const targets = w ? w.targets.map((x) => one(targetKey(x))) : [];
      const signature = one(`${g.waitReason}|${targets.join(',')}|${g.frames[0]?.function ?? ''}:${g.frames[0]?.line ?? 0}`);
      const prev = this.tracked.get(g.id);
      if (prev && (prev.signature !== signature || prev.site !== key)) this.depart(prev, t);
      const keep = prev && prev.signature === signature && prev.site === key;
      this.tracked.set(g.id, {
        site: key, signature, firstSeen: keep ? prev.firstSeen : t, blockedMs: w?.blockedMs ?? null,
        reason: g.waitReason ?? g.status, fn: g.startFunction ?? g.frames[g.frames.length - 1]?.function ?? '?', targets,
      });
      seen.add(g.id);
      let s = sites.get(key);
      if (!s) sites.set(key, (s = { count: 0, goids: new Set() }));
      s.count++;
      s.goids!.add(g.id);
    }
    for (const [goid, tr] of this.tracked) {
      if (seen.has(goid)) continue;
      this.depart(tr, t); // exited, or running again
      this.tracked.delete(goid);
    }
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

  private depart(tr: Tracked, t: number): void {
    let d = this.departures.get(tr.site);
    if (!d) this.departures.set(tr.site, (d = []));
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
    const tr = this.tracked.get(goid);
    if (!tr) return undefined;
    const now = this.samples[this.samples.length - 1]?.t ?? tr.firstSeen;
    return Math.min(tr.firstSeen, now - (tr.blockedMs ?? 0));
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
      const goids = [...now.goids!];
      const members = goids.map((g) => this.tracked.get(g)!);
      // A few departures are tolerated (a goroutine woken by shutdown or a
      // rare reply); a site whose goroutines come and go is not leaking.
      if (departed > MAX_DEPARTED_RATIO * Math.max(growth, 1) || this.movedChannels(members, first.t) > 0) continue;
      out.push(this.suspect(key, series, { growth, departed, seconds, n }, goids, members, last.t));
    }
    return out.sort((a, b) => b.score - a.score);
  }

  private movedChannels(members: Tracked[], since: number): number {
    const addrs = new Set<number>();
    for (const m of members) for (const k of m.targets) if (k.startsWith('chan@')) addrs.add(Number(k.slice(5)));
    let moved = 0;
    for (const a of addrs) if (this.chans.get(a)?.movedAt.some((x) => x >= since)) moved++;
    return moved;
  }

  private suspect(
    key: string, series: { t: number; c: number }[], w: { growth: number; departed: number; seconds: number; n: number },
    goids: number[], members: Tracked[], now: number,
  ): LeakSuspect {
    const { growth, departed, seconds, n } = w;
    const site = this.sites.get(key)!;
    const perSecond = slope(series);
    const reason = mode(members.map((m) => m.reason));
    const fn = mode(members.map((m) => m.fn));
    const oldestSeconds = Math.max(...members.map((m) => Math.max(now - m.firstSeen, m.blockedMs ?? 0))) / 1000;
    const chanKeys = new Set(members.flatMap((m) => m.targets.filter((k) => k.startsWith('chan@'))));
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

function siteKey(g: Goroutine): string {
  const c = g.createdBy!;
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
