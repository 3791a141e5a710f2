// ProbeSession: owns every native resource of the eBPF layer (the libbpf
// object, one link per probe site, the mapped ring buffer) behind one
// idempotent close(). Order as in libbpf-tools: open → set .rodata config,
// autoload, map sizes → load → attach → ring buffer. Links are held only by
// fds (never pinned), so a SIGKILLed gtop leaves nothing behind.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import type { ElfFile } from '../binary/elf.ts';
import { GtopError } from '../errors.ts';
import {
  type BpfEvent, type ChanStats, COUNTER, COUNTER_SLOTS, EVENT_KIND, EVENT_KINDS, EventDecoder, type EventKind, type GState,
  HIST_SLOTS, LAYOUT, MAX_REASONS, MAX_SITES, STACK_DEPTH, decodeChanStats, decodeGState, encodeConfig,
} from './events.ts';
import { type BpfLink, type BpfMap, type BpfObject, type BpfProgram, type LogSink, checkInt, checkPtr, libbpf, logMark, setLogSink } from './libbpf.ts';
import { dumpU64Hash, lookup, readPercpuU64Array, u32Key, u64Key } from './maps.ts';
import { PF_X, PT_LOAD } from '../binary/elf.ts';
import { type Placement, type ProbeSite, type Reg, type ValueLocation, placeEntryProbe, placeReturnProbes } from './placement.ts';
import { type CallerCode, callSitesIn, placeResultProbes } from './result-sites.ts';
import { RingBuffer } from './ringbuf.ts';

/** The event kinds, plus the channel-operation probes that only update the chan_stats map. */
export type ProbeName = EventKind | 'chansend' | 'chanrecv' | 'closechan';

/**
 * 'entry': a value available at entry; 'return': the result, on every RET;
 * 'result': the result, read in the callers where an emulated instruction
 * sees it (result-sites.ts), falling back to 'return'.
 */
interface ProbeSpec {
  name: ProbeName; func: string; program: string; kind: 'entry' | 'return' | 'result'; needs: readonly Reg[];
  /**
   * Further functions the same program goes on, placed the same way, in
   * binaries that link them (none is required): each entry lists
   * alternatives, the first one present is probed.
   */
  also?: readonly (readonly string[])[];
}

/** What each program reads where (go-runtime.md §4.2); `needs` = registers read at an entry probe. */
export const PROBES: readonly ProbeSpec[] = [
  { name: 'park', func: 'runtime.gopark', program: 'gtop_park', kind: 'entry', needs: ['r14', 'rbx', 'rcx'] },
  { name: 'ready', func: 'runtime.ready', program: 'gtop_ready', kind: 'entry', needs: ['rax', 'r14'] },
  { name: 'create', func: 'runtime.newproc1', program: 'gtop_create', kind: 'result', needs: [] },
  // A coroutine goroutine (iter.Pull, Go ≥ 1.23) ends in runtime.coroexit → mcall(coroswitch_m) →
  // gdestroy, never goexit1. coroexit's one caller, corostart's deferred wrapper, inlines it
  // (1.23–1.26; the standalone copy is never called) and runs once per such exit on the exiting
  // goroutine (R14), so the wrapper is probed; coroexit itself should a toolchain name it otherwise.
  { name: 'exit', func: 'runtime.goexit1', program: 'gtop_exit', kind: 'entry', needs: ['r14'], also: [['runtime.corostart.deferwrap1', 'runtime.coroexit']] },
  { name: 'makechan', func: 'runtime.makechan', program: 'gtop_makechan', kind: 'return', needs: [] },
  { name: 'chansend', func: 'runtime.chansend', program: 'gtop_chansend', kind: 'entry', needs: ['rax', 'r14'] },
  { name: 'chanrecv', func: 'runtime.chanrecv', program: 'gtop_chanrecv', kind: 'entry', needs: ['rax', 'r14'] },
  { name: 'closechan', func: 'runtime.closechan', program: 'gtop_closechan', kind: 'entry', needs: ['rax', 'r14'] },
];
export const PROBE_NAMES: readonly ProbeName[] = PROBES.map((p) => p.name);

/** Byte offsets of the runtime fields the programs read, for the target's Go version. */
export interface RuntimeOffsets {
  g_goid: number; g_m: number; m_curg: number; g_gopc: number; g_startpc: number;
  hchan_lock: number;
  /** waitReason numbers of "chan send"/"chan receive" in this binary, -1 when absent. */
  reason_chan_send: number; reason_chan_recv: number;
}

export interface AttachTarget {
  pid: number;
  /** A path the kernel resolves to the executable's inode, e.g. /proc/PID/exe. */
  exePath: string;
  /** That executable, parsed. */
  elf: ElfFile;
  offsets: RuntimeOffsets;
  /** Link-time [entry, end) of a function by name (Pclntab.funcByName fits; works stripped). */
  findFunction(name: string): { entry: number; end: number } | undefined;
  /** The function containing a link-time pc (Pclntab.funcForPC fits). */
  functionAt(pc: number): { name: string; entry: number; end: number } | undefined;
}

export interface SessionOptions {
  objectPath?: string;
  /** Ring buffer bytes, a power of 2 (default 4 MiB). */
  ringBytes?: number;
  /** Entries of the per-goroutine state map (LRU, default 65536). */
  maxGoroutines?: number;
  /** Entries of the stack-trace map (default 16384). */
  stackEntries?: number;
  /** Record a user stack per park (default true). */
  parkStacks?: boolean;
  probes?: readonly ProbeName[];
  /** Kinds sent to the ring buffer (default: all attached); the rest are only counted. */
  emit?: readonly EventKind[];
  /** 'entry' forces function-entry placement and result probes onto the RETs (to measure what the better placement saves). */
  placement?: 'best' | 'entry';
  log?: LogSink;
}

export interface SiteInfo extends ProbeSite {
  index: number;
  probe: ProbeName;
  func: string;
  fileOffset: number;
  reason: string;
}

export interface Counters {
  events: Record<EventKind, number>;
  drops: number;
  readErrors: number;
  noCurg: number;
  stackErrors: number;
  /** Hits per site index. */
  siteHits: number[];
  /** Records the decoder rejected (short or unknown kind). */
  badRecords: number;
}

export interface Histograms {
  /** log2(ns) buckets of blocked time per wait reason (only reasons seen). */
  blocked: Map<number, number[]>;
  /** log2(ns) buckets of goroutine lifetimes (create → exit). */
  lifetime: number[];
}

const DEFAULT_OBJECT = ['../../bpf/gtop.bpf.o', '../../../bpf/gtop.bpf.o'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
const MAPS = ['events', 'gstates', 'chan_stats', 'stacks', 'counters', 'site_hits', 'blocked_hist', 'lifetime_hist'] as const;
type MapName = (typeof MAPS)[number];

export class ProbeSession {
  private obj: BpfObject | undefined;
  private readonly opts: SessionOptions;
  /** Live links by site index: a probe can be detached and re-attached (overhead budget). */
  private readonly links = new Map<number, BpfLink>();
  private target: AttachTarget | undefined;
  /** Links being destroyed on a worker thread (setProbe(name, false)). */
  private readonly pendingDestroys = new Set<Promise<void>>();
  private ring: RingBuffer | undefined;
  private readonly maps = new Map<MapName, BpfMap>();
  private siteList: SiteInfo[] = [];
  private readonly decoder = new EventDecoder();
  private state: 'open' | 'attached' | 'closed' = 'open';
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(obj: BpfObject, opts: SessionOptions) {
    this.obj = obj;
    this.opts = opts;
  }

  /** Opens bpf/gtop.bpf.o (nothing is loaded into the kernel yet). */
  static open(opts: SessionOptions = {}): ProbeSession {
    if (opts.log) setLogSink(opts.log);
    else setLogSink(() => {});
    const path = opts.objectPath ?? DEFAULT_OBJECT.find((p) => existsSync(p)) ?? DEFAULT_OBJECT[0]!;
    const mark = logMark();
    const obj = checkPtr(libbpf().f.open_file(path, null) as BpfObject | null, `open BPF object ${path}`, mark);
    const s = new ProbeSession(obj, opts);
    try {
      for (const name of MAPS) s.maps.set(name, checkPtr(libbpf().f.find_map(obj, name) as BpfMap | null, `find map ${name} in ${path}`));
      for (const p of PROBES) s.program(p);
      s.rodata();
    } catch (err) {
      s.close();
      throw err;
    }
    return s;
  }

  /** Configures, loads and attaches every probe to `target`; closes the session on failure. */
  attach(target: AttachTarget): readonly SiteInfo[] {
    if (this.state !== 'open' || !this.obj) throw new GtopError('internal', `ProbeSession.attach on a ${this.state} session`);
    this.state = 'attached';
    try {
      const specs = PROBES.filter((p) => (this.opts.probes ?? PROBE_NAMES).includes(p.name));
      this.siteList = this.place(target, specs);
      this.configure(target, specs);
      checkInt(libbpf().f.load(this.obj) as number, 'load BPF programs', logMark());
      this.target = target;
      for (const s of this.siteList) this.attachSite(target, s);
      const events = this.map('events');
      this.ring = RingBuffer.open(checkInt(libbpf().f.map_fd(events) as number, 'get ring buffer fd'), libbpf().f.map_max_entries(events) as number);
    } catch (err) {
      this.close();
      throw err;
    }
    return this.siteList;
  }

  private place(target: AttachTarget, specs: readonly ProbeSpec[]): SiteInfo[] {
    const out: SiteInfo[] = [];
    for (const spec of specs) {
      const fn = target.findFunction(spec.func);
      if (!fn || fn.end <= fn.entry) throw new GtopError('unsupported-go', `${spec.func} not found in process ${target.pid}: cannot attach the ${spec.name} probe`);
      const funcs = [{ name: spec.func, ...fn }];
      for (const alternatives of spec.also ?? []) {
        for (const name of alternatives) {
          const f = target.findFunction(name);
          if (f && f.end > f.entry) { funcs.push({ name, ...f }); break; }
        }
      }
      for (const f of funcs) {
        const p = this.placeIn(target, spec, f.name, f.entry, target.elf.readVaddr(f.entry, f.end - f.entry));
        for (const site of p.sites) {
          const func = site.func ?? f.name;
          const fileOffset = target.elf.vaddrToOffset(site.vaddr);
          if (fileOffset === undefined) throw new GtopError('bad-binary', `${func}+0x${site.offset.toString(16)} is not in a loadable segment`);
          if (out.length >= MAX_SITES) throw new GtopError('internal', `more than ${MAX_SITES} probe sites`);
          out.push({ ...site, index: out.length, probe: spec.name, func, fileOffset, reason: [p.reason, ...p.warnings].join('; ') });
        }
      }
    }
    return out;
  }

  private placeIn(target: AttachTarget, spec: ProbeSpec, func: string, entry: number, code: Buffer): Placement {
    const forced = this.opts.placement === 'entry';
    if (spec.kind === 'entry') return placeEntryProbe(func, code, entry, spec.needs, forced);
    if (spec.kind === 'return') return placeReturnProbes(func, code, entry);
    return forced ? resultAtRets(func, code, entry) : this.placeInCallers(target, func, entry, code);
  }

  /** Sites in every caller of `func` (its result in a register or stack slot), else its RETs with the reason. */
  private placeInCallers(target: AttachTarget, func: string, entry: number, code: Buffer): Placement {
    const callers = new Map<number, CallerCode>();
    for (const seg of target.elf.segments) {
      if (seg.type !== PT_LOAD || !(seg.flags & PF_X)) continue;
      for (const pc of callSitesIn((addr, len) => target.elf.readVaddr(addr, len), seg.vaddr, seg.filesz, entry)) {
        const fn = target.functionAt(pc);
        if (fn && fn.end > fn.entry && !callers.has(fn.entry)) {
          callers.set(fn.entry, { name: fn.name, entry: fn.entry, code: target.elf.readVaddr(fn.entry, fn.end - fn.entry) });
        }
      }
    }
    const p = placeResultProbes(func, entry, [...callers.values()]);
    if (!('failed' in p)) return p;
    const rets = resultAtRets(func, code, entry);
    return { ...rets, reason: `${rets.reason}: ${p.failed}` };
  }

  private configure(target: AttachTarget, specs: readonly ProbeSpec[]): void {
    const { f } = libbpf();
    const o = target.offsets;
    const cfg = encodeConfig({
      off_g_goid: o.g_goid, off_g_m: o.g_m, off_m_curg: o.m_curg, off_g_gopc: o.g_gopc, off_g_startpc: o.g_startpc,
      park_stacks: this.opts.parkStacks ?? true,
      off_hchan_lock: o.hchan_lock, reason_chan_send: o.reason_chan_send, reason_chan_recv: o.reason_chan_recv,
      emit: this.opts.emit ?? specs.map((s) => s.name).filter((n): n is EventKind => (EVENT_KINDS as readonly string[]).includes(n)),
    });
    checkInt(f.map_set_initial_value(this.rodata(), cfg, cfg.length) as number, 'set BPF config');
    for (const p of PROBES) checkInt(f.prog_set_autoload(this.program(p), specs.includes(p)) as number, `set autoload of ${p.program}`);
    const sizes: [MapName, number | undefined][] = [['events', this.opts.ringBytes], ['gstates', this.opts.maxGoroutines], ['stacks', this.opts.stackEntries]];
    for (const [name, n] of sizes) if (n !== undefined) checkInt(f.map_set_max_entries(this.map(name), n) as number, `size map ${name} to ${n}`);
  }

  /** The .rodata map holding `cfg`, which must be its only variable (so it sits at offset 0). */
  private rodata(): BpfMap {
    const { f } = libbpf();
    for (let m = f.next_map(this.obj, null) as BpfMap | null; m !== null; m = f.next_map(this.obj, m) as BpfMap | null) {
      if (!String(f.map_name(m)).endsWith('.rodata')) continue;
      const size = f.map_value_size(m) as number;
      if (size !== LAYOUT.config.size) throw new GtopError('internal', `.rodata of the BPF object is ${size} bytes, expected struct gtop_config (${LAYOUT.config.size})`);
      return m;
    }
    throw new GtopError('internal', 'the BPF object has no .rodata map (config)');
  }

  private program(spec: ProbeSpec): BpfProgram {
    return checkPtr(libbpf().f.find_program(this.obj, spec.program) as BpfProgram | null, `find program ${spec.program}`);
  }

  private attachSite(target: AttachTarget, s: SiteInfo): void {
    const { f, UprobeOpts } = libbpf();
    const spec = PROBES.find((p) => p.name === s.probe)!;
    const prog = this.program(spec);
    const opts = { sz: koffi.sizeof(UprobeOpts), ref_ctr_offset: 0, bpf_cookie: siteCookie(s), retprobe: false, func_name: null };
    const step = `attach uprobe ${s.func}+0x${s.offset.toString(16)}`;
    this.links.set(s.index, checkPtr(f.attach_uprobe(prog, target.pid, target.exePath, s.fileOffset, opts) as BpfLink | null, step, logMark()));
  }

  /** Resolves when every detach started by setProbe has finished in the kernel. */
  async settled(): Promise<void> {
    await Promise.all([...this.pendingDestroys]);
  }

  /** Probes whose every site is attached now. */
  attachedProbes(): ProbeName[] {
    const names = [...new Set(this.siteList.map((s) => s.probe))];
    return names.filter((n) => this.siteList.every((s) => s.probe !== n || this.links.has(s.index)));
  }

  /**
   * Detaches (on = false) or re-attaches a probe's sites; the program stays
   * loaded, so re-attaching is one perf_event_open per site. Throws the
   * attach error (e.g. the target exited) with its step named.
   */
  setProbe(name: ProbeName, on: boolean): void {
    if (this.state !== 'attached' || !this.target) return;
    const { f } = libbpf();
    for (const s of this.siteList) {
      if (s.probe !== name) continue;
      const link = this.links.get(s.index);
      if (!on && link) {
        // The kernel's uprobe unregister waits for an RCU grace period
        // (~150 ms here): on koffi's worker threads the sites of a probe go
        // in parallel and the event loop keeps polling meanwhile.
        this.links.delete(s.index);
        const done = new Promise<void>((resolve) => {
          (f.link_destroy as unknown as { async: (l: BpfLink, cb: () => void) => void }).async(link, () => resolve());
        });
        this.pendingDestroys.add(done);
        void done.then(() => this.pendingDestroys.delete(done));
      } else if (on && !link) {
        this.attachSite(this.target, s);
      }
    }
  }

  /** The probe sites attached, by index (= bpf_cookie = Event.site). */
  sites(): readonly SiteInfo[] {
    return this.siteList;
  }

  /**
   * Polls on a timer (unref'd, so it never keeps the process alive) and
   * hands each non-empty batch to `onEvents`; stopped by the returned
   * function or close(). At most `maxPerTick` records per tick keep the
   * event loop responsive; the rest wait for the next tick.
   */
  subscribe(onEvents: (events: BpfEvent[]) => void, opts: { intervalMs?: number; maxPerTick?: number } = {}): () => void {
    const timer = setInterval(() => {
      const evs = this.poll(opts.maxPerTick ?? 50_000);
      if (evs.length > 0) onEvents(evs);
    }, opts.intervalMs ?? 20);
    timer.unref();
    this.timers.add(timer);
    return () => {
      clearInterval(timer);
      this.timers.delete(timer);
    };
  }

  /** Decodes up to `max` pending ring-buffer records. */
  poll(max = 10_000): BpfEvent[] {
    const out: BpfEvent[] = [];
    this.ring?.consume(max, (v, off, len) => {
      const e = this.decoder.decode(v, off, len);
      if (e) out.push(e);
    });
    return out;
  }

  counters(): Counters {
    const c = this.percpu('counters', COUNTER_SLOTS);
    const events = Object.fromEntries(EVENT_KINDS.map((k) => [k, c[EVENT_KIND[k]] ?? 0])) as Record<EventKind, number>;
    return {
      events, drops: c[COUNTER.drops] ?? 0, readErrors: c[COUNTER.readErrors] ?? 0, noCurg: c[COUNTER.noCurg] ?? 0,
      stackErrors: c[COUNTER.stackErrors] ?? 0, siteHits: this.percpu('site_hits', MAX_SITES).slice(0, this.siteList.length),
      badRecords: this.decoder.short + this.decoder.unknown,
    };
  }

  /** Events lost because the ring buffer was full. */
  drops(): number {
    return this.percpu('counters', COUNTER_SLOTS)[COUNTER.drops] ?? 0;
  }

  histograms(): Histograms {
    const all = this.percpu('blocked_hist', MAX_REASONS * HIST_SLOTS);
    const blocked = new Map<number, number[]>();
    for (let r = 0; r < MAX_REASONS; r++) {
      const h = all.slice(r * HIST_SLOTS, (r + 1) * HIST_SLOTS);
      if (h.some((n) => n > 0)) blocked.set(r, h);
    }
    return { blocked, lifetime: this.percpu('lifetime_hist', HIST_SLOTS) };
  }

  /** User stack of a park (return addresses, innermost first); [] when unknown. */
  stack(id: number): number[] {
    if (id < 0 || this.state !== 'attached') return [];
    const v = lookup(this.fd('stacks'), u32Key(id), STACK_DEPTH * 8, 'stack map');
    const pcs: number[] = [];
    for (let o = 0; v && o + 8 <= v.length; o += 8) {
      const pc = v.readUInt32LE(o) + v.readUInt32LE(o + 4) * 0x1_0000_0000;
      if (pc === 0) break;
      pcs.push(pc);
    }
    return pcs;
  }

  /** What the probes last recorded about every goroutine in the map, in a few batch reads. */
  gstates(chunk?: number): Map<number, GState> {
    const out = new Map<number, GState>();
    if (this.state !== 'attached') return out;
    const fd = this.fd('gstates');
    for (const [goid, v] of dumpU64Hash(fd, LAYOUT.gstate.size, libbpf().f.map_max_entries(this.map('gstates')) as number, 'goroutine state map', chunk)) {
      const st = decodeGState(v);
      if (st) out.set(goid, st);
    }
    return out;
  }

  /** What the probes last recorded about a goroutine. */
  gstate(goid: number): GState | undefined {
    if (this.state !== 'attached') return undefined;
    const v = lookup(this.fd('gstates'), u64Key(goid), LAYOUT.gstate.size, 'goroutine state map');
    return v ? decodeGState(v) : undefined;
  }

  /** What the probes saw of the channel at `chan` (*hchan, run-time address). */
  chanStats(chan: number): ChanStats | undefined {
    if (this.state !== 'attached' || chan <= 0) return undefined;
    const v = lookup(this.fd('chan_stats'), u64Key(chan), LAYOUT.chanStats.size, 'channel stats map');
    return v ? decodeChanStats(v) : undefined;
  }

  /** Detaches every probe, unmaps the ring buffer, frees the object; idempotent. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
    const { f } = libbpf();
    for (const l of this.links.values()) f.link_destroy(l);
    this.links.clear();
    this.target = undefined;
    this.ring?.close();
    this.ring = undefined;
    this.maps.clear();
    if (this.obj) f.close(this.obj);
    this.obj = undefined;
  }

  private map(name: MapName): BpfMap {
    const m = this.maps.get(name);
    if (!m) throw new GtopError('internal', `BPF map ${name} used on a ${this.state} session`);
    return m;
  }

  private fd(name: MapName): number {
    return checkInt(libbpf().f.map_fd(this.map(name)) as number, `get fd of map ${name}`);
  }

  private percpu(name: MapName, n: number): number[] {
    if (this.state !== 'attached') return new Array<number>(n).fill(0);
    return readPercpuU64Array(this.fd(name), n, `map ${name}`);
  }
}

/** RET sites of a function whose result (AX) the program reads. */
function resultAtRets(func: string, code: Buffer, entry: number): Placement {
  const p = placeReturnProbes(func, code, entry);
  return { ...p, sites: p.sites.map((x) => ({ ...x, value: { reg: 'rax' } })) };
}

/** Byte offsets in x86-64 struct pt_regs (<asm/ptrace.h>, the BPF programs' ctx). */
export const PT_REGS_OFFSET: Readonly<Record<string, number>> = {
  r15: 0, r14: 8, r13: 16, r12: 24, rbp: 32, rbx: 40, r11: 48, r10: 56, r9: 64, r8: 72,
  rax: 80, rcx: 88, rdx: 96, rsi: 104, rdi: 112, rsp: 152,
};

/** The bpf_cookie of a site: its index, and where its value is (bpf/gtop.h GTOP_COOKIE_*). */
export function siteCookie(s: { index: number; value?: ValueLocation }): bigint {
  let c = BigInt(s.index);
  if (s.value) {
    const off = PT_REGS_OFFSET[s.value.reg];
    if (off === undefined) throw new GtopError('internal', `no pt_regs slot for register ${s.value.reg}`);
    c |= BigInt(off) << 16n;
    if (s.value.disp !== undefined) c |= (1n << 24n) | (BigInt.asUintN(32, BigInt(s.value.disp)) << 32n);
  }
  return c;
}
