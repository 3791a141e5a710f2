// Goroutines and snapshots for the model and component tests, shaped like
// what src/runtime produces for a small service: stacks shared between
// goroutines parked at the same place, as the symbolizer shares them.
import type { CreatedBy, Frame, Goroutine, GoroutineStatus, Snapshot } from '../../src/runtime/goroutine.ts';

export const frame = (fn: string, file: string, line: number, inlined = false): Frame => ({ function: fn, file, line, inlined, offset: inlined ? null : 0x25 });
export const creator = (fn: string, file: string, line: number): CreatedBy => ({ function: fn, file, line, offset: 0x1f });

export const STACKS = {
  chanRecv: [frame('runtime.gopark', '/usr/lib/go/src/runtime/proc.go', 435), frame('runtime.chanrecv1', '/usr/lib/go/src/runtime/chan.go', 489), frame('main.worker', '/src/app/main.go', 42)],
  chanSend: [frame('runtime.gopark', '/usr/lib/go/src/runtime/proc.go', 435), frame('runtime.chansend1', '/usr/lib/go/src/runtime/chan.go', 145), frame('main.handler.func1', '/src/app/main.go', 28)],
  mutex: [
    frame('runtime.gopark', '/usr/lib/go/src/runtime/proc.go', 435),
    frame('sync.(*Mutex).Lock', '/usr/lib/go/src/sync/mutex.go', 81, true),
    frame('main.lookup', '/src/app/cache.go', 17),
    frame('main.handler', '/src/app/main.go', 30),
  ],
  serve: [frame('runtime.gopark', '/usr/lib/go/src/runtime/proc.go', 435), frame('internal/poll.runtime_pollWait', '/usr/lib/go/src/runtime/netpoll.go', 351), frame('net/http.(*conn).serve', '/usr/lib/go/src/net/http/server.go', 2103)],
  none: [] as Frame[],
} as const;

export const CREATORS = {
  main: creator('main.main', '/src/app/main.go', 60),
  handler: creator('main.handler', '/src/app/main.go', 26),
  server: creator('net/http.(*Server).Serve', '/usr/lib/go/src/net/http/server.go', 3464),
};

export interface GSpec {
  id: number;
  status?: GoroutineStatus;
  reason?: string | null;
  minutes?: number | null;
  frames?: readonly Frame[];
  createdBy?: CreatedBy | null;
  system?: boolean;
}

export function g(s: GSpec): Goroutine {
  const status = s.status ?? 'waiting';
  return {
    id: s.id,
    status,
    rawStatus: 4,
    waitReason: status === 'waiting' ? (s.reason ?? 'chan receive') : null,
    waitMinutes: s.minutes ?? null,
    lockedToThread: false,
    system: s.system ?? false,
    frames: [...(s.frames ?? STACKS.chanRecv)],
    stackError: status === 'running' ? 'goroutine running on other thread; stack unavailable' : null,
    framesElided: false,
    createdBy: s.createdBy === undefined ? CREATORS.main : s.createdBy,
    parentId: 1,
    labels: {},
    startFunction: null,
    gAddr: 0xc000000000 + s.id * 0x200,
  };
}

/** Shares one frames array per distinct stack, as the symbolizer does. */
export function share(gs: Goroutine[]): Goroutine[] {
  const byKey = new Map<string, Frame[]>();
  return gs.map((x) => {
    const key = JSON.stringify(x.frames);
    let f = byKey.get(key);
    if (f === undefined) byKey.set(key, (f = x.frames));
    return { ...x, frames: f };
  });
}

export function snapshot(gs: Goroutine[], takenAt = new Date('2026-01-02T03:04:05Z')): Snapshot {
  return { pid: 4242, exe: '/srv/app', goVersion: 'go1.26.8', module: 'example.com/app', takenAt, durationMs: 12, reads: 40, unreadable: 0, goroutines: share(gs) };
}

/** A small service: a leak of chan senders, workers, lock contention, an HTTP server, runtime goroutines. */
export function service(): Goroutine[] {
  const out: Goroutine[] = [g({ id: 1, reason: 'select (no cases)', frames: [frame('main.main', '/src/app/main.go', 70)], createdBy: null })];
  for (let i = 0; i < 5; i++) out.push(g({ id: 10 + i, frames: STACKS.chanRecv, createdBy: CREATORS.main }));
  for (let i = 0; i < 3; i++) out.push(g({ id: 20 + i, reason: 'sync.Mutex.Lock', frames: STACKS.mutex, createdBy: CREATORS.server }));
  for (let i = 0; i < 12; i++) out.push(g({ id: 100 + i, reason: 'chan send', frames: STACKS.chanSend, createdBy: CREATORS.handler, minutes: i < 2 ? 3 : null }));
  out.push(g({ id: 30, reason: 'IO wait', frames: STACKS.serve, createdBy: CREATORS.server }));
  out.push(g({ id: 31, status: 'running', frames: STACKS.none, createdBy: CREATORS.main }));
  out.push(g({ id: 32, status: 'runnable', frames: STACKS.chanRecv, createdBy: CREATORS.main }));
  out.push(g({ id: 2, reason: 'force gc (idle)', frames: [frame('runtime.forcegchelper', '/usr/lib/go/src/runtime/proc.go', 320)], createdBy: creator('runtime.init.6', '/usr/lib/go/src/runtime/proc.go', 310), system: true }));
  return out;
}
