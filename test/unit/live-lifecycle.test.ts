// Created/exited counting from two sources (events and snapshot diffs) with
// bounded memory: every goroutine counted once whichever source tells first.
import test from 'ava';
import { LifecycleCounts, RecentIds } from '../../src/live/lifecycle.ts';

test('both sources report the same goroutines: each counted once, in any order', (t) => {
  const c = new LifecycleCounts([1, 2, 3]);
  c.onCreate(10);                        // event first
  c.onSnapshot(new Set([1, 2, 3, 10, 11])); // 11: snapshot first
  c.onCreate(11);                        // its late event
  c.onExit(2);                           // a goroutine of the start: exit, not a creation
  c.onExit(10);
  c.onSnapshot(new Set([1, 3, 11]));     // 2 and 10 vanished: already counted
  c.onExit(12);                          // created and gone between snapshots, no create event
  c.onCreate(12);                        // its late create event
  c.onSnapshot(new Set([1, 3]));         // 11 vanished, no event
  c.onExit(11);                          // its late exit event
  t.is(c.created, 3);
  t.is(c.exited, 4);
});

test('snapshots alone: appearances and disappearances', (t) => {
  const c = new LifecycleCounts([1]);
  c.onSnapshot(new Set([1, 5, 6]));
  c.onSnapshot(new Set([6, 7]));
  t.is(c.created, 3);
  t.is(c.exited, 2);
});

test('memory stays bounded on a churn of a million goroutines', (t) => {
  const c = new LifecycleCounts([1], 1000);
  for (let id = 2; id < 1_000_002; id++) {
    c.onCreate(id);
    c.onExit(id);
  }
  t.is(c.created, 1_000_000);
  t.is(c.exited, 1_000_000);
  const r = new RecentIds(3);
  for (const id of [1, 2, 3, 4, 2]) r.add(id);
  t.is(r.size, 3);
  t.false(r.has(1));
  t.true(r.has(4) && r.has(2));
});
