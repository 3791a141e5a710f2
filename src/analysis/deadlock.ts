// Deadlock cycles gtop can prove: among the goroutines scanReachability
// proved can never wake (no goroutine that can still run, and no global
// variable, reaches what they wait on), those that wait on each other. A
// cycle is a strongly connected component of "could wake" edges: H → G when
// H's own stack reaches an object G waits on.
import { type Channel, type GoroutineWait, type WaitGraph, type WaitTarget, hex } from './model.ts';
import { type Reachability, targetKey } from './reach.ts';

export interface DeadlockStep {
  goid: number;
  /** What it waits on. */
  waitsOn: WaitTarget;
  /** The goroutines of the cycle whose stacks reach that object: who would wake it, were they not blocked themselves. */
  wakers: number[];
}

export interface DeadlockCycle {
  /** Every goroutine of the component, ascending. */
  goroutines: number[];
  /** One walk around the cycle, starting at the lowest goid. */
  path: DeadlockStep[];
  /** Human-readable proof: what was checked, what was found, what was not checked. */
  evidence: string[];
}

/** What a proof never covers; printed with every cycle. */
export const NOT_CHECKED = 'not checked: references held only in CPU registers of running goroutines, by finalizers or cleanups, '
  + 'in memory outside the Go heap (cgo, mmap), or hidden as integers (uintptr)';

export function findDeadlocks(graph: WaitGraph, reach: Reachability): DeadlockCycle[] {
  if (reach.inconclusive !== null || reach.stuck.size === 0) return [];
  const members = [...reach.stuck].sort((a, b) => a - b);
  const waits = new Map(members.map((g) => [g, graph.byGoroutine.get(g)!]));
  // wakers of G = stuck H whose stack reaches one of G's objects.
  const wakersOf = new Map<number, number[]>();
  for (const g of members) {
    const keys = new Set(waits.get(g)!.targets.map(targetKey));
    wakersOf.set(g, members.filter((h) => [...(reach.reaches.get(h) ?? [])].some((k) => keys.has(k))));
  }
  const succ = new Map<number, number[]>(members.map((h) => [h, members.filter((g) => wakersOf.get(g)!.includes(h))]));
  const channels = new Map(graph.channels.map((c) => [c.addr, c]));
  return components(members, succ)
    .filter((c) => c.length >= 2)
    .map((comp) => cycleOf(comp, waits, wakersOf, succ, channels, reach));
}

function cycleOf(
  comp: number[], waits: Map<number, GoroutineWait>, wakersOf: Map<number, number[]>, succ: Map<number, number[]>,
  channels: Map<number, Channel>, reach: Reachability,
): DeadlockCycle {
  const inComp = new Set(comp);
  // Self-edges (a goroutine reaching its own channel) say nothing about the others.
  const loop = shortestLoop(comp[0]!, (h) => succ.get(h)!.filter((g) => g !== h && inComp.has(g)));
  // loop = [a, b, c]: a can wake b, b can wake c, c can wake a. Read backwards: each waits on what its predecessor holds.
  const path: DeadlockStep[] = loop.map((g, i) => {
    const waker = loop[(i + loop.length - 1) % loop.length]!;
    const keys = reach.reaches.get(waker)!;
    const t = waits.get(g)!.targets.find((x) => keys.has(targetKey(x))) ?? waits.get(g)!.targets[0]!;
    return { goid: g, waitsOn: t, wakers: wakersOf.get(g)!.filter((h) => inComp.has(h)) };
  });
  const c = reach.checked;
  const evidence = [
    ...comp.map((g) => `goroutine ${g} is blocked (${waits.get(g)!.waitReason}) on ${waits.get(g)!.targets.map((t) => describe(t, channels)).join(', ')}`),
    ...path.map((s) => `${describe(s.waitsOn, channels)}: reachable from goroutine${s.wakers.length > 1 ? 's' : ''} ${s.wakers.join(', ')} of this cycle, and from no goroutine that can still run`),
    `no other goroutine and no global variable reaches these objects: conservative heap mark from ${c.roots} goroutine stacks `
      + `(${kib(c.stackBytes)}) and ${kib(c.globalBytes)} of globals, ${kib(c.heapBytes)} of heap in ${c.heapObjects} objects, `
      + `${c.passes} independent pass${c.passes > 1 ? 'es' : ''} agreeing`,
    NOT_CHECKED,
  ];
  return { goroutines: comp, path, evidence };
}

export function describe(t: WaitTarget, channels: Map<number, Channel>): string {
  if (t.kind === 'lock') return `${t.lock} ${hex(t.addr)}`;
  const c = channels.get(t.addr);
  const type = c ? `${c.cap > 0 ? `buffered(${c.len}/${c.cap}) ` : ''}chan ${c.elemType ?? '?'}` : 'chan';
  return `${type} ${hex(t.addr)}${t.op === 'unknown' ? '' : ` (${t.op})`}`;
}

const kib = (n: number): string => (n >= 10 << 20 ? `${Math.round(n / 1048576)} MiB` : `${Math.ceil(n / 1024)} KiB`);

/** Tarjan's strongly connected components, iteratively (stuck sets can be large). */
export function components(nodes: number[], succ: Map<number, number[]>): number[][] {
  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const onStack = new Set<number>();
  const stack: number[] = [];
  const out: number[][] = [];
  let next = 0;
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: { v: number; i: number }[] = [{ v: root, i: 0 }];
    index.set(root, next); low.set(root, next); next++; stack.push(root); onStack.add(root);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const ws = succ.get(top.v) ?? [];
      if (top.i < ws.length) {
        const w = ws[top.i++]!;
        if (!index.has(w)) {
          index.set(w, next); low.set(w, next); next++; stack.push(w); onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) low.set(top.v, Math.min(low.get(top.v)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]!.v;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.v)!));
      }
      if (low.get(top.v) === index.get(top.v)) {
        const comp: number[] = [];
        let w: number;
        do { w = stack.pop()!; onStack.delete(w); comp.push(w); } while (w !== top.v);
        out.push(comp.sort((a, b) => a - b));
      }
    }
  }
  return out;
}

/** Shortest cycle through `start` (BFS), as the list of nodes from start. */
function shortestLoop(start: number, next: (v: number) => number[]): number[] {
  const prev = new Map<number, number>();
  const queue = [start];
  for (let qi = 0; qi < queue.length; qi++) {
    const v = queue[qi]!;
    for (const w of next(v)) {
      if (w === start) {
        const path = [v];
        for (let x = v; x !== start; ) { x = prev.get(x)!; path.push(x); }
        return path.reverse();
      }
      if (!prev.has(w)) { prev.set(w, v); queue.push(w); }
    }
  }
  return [start];
}
