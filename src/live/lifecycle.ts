// Goroutines created and exited during a watch, counted exactly with bounded
// memory. Two sources report the same goroutines: probe events (create/exit)
// and snapshot diffs (ids that appeared/vanished). Goids are never reused,
// so each goroutine is created and exits at most once; what must be avoided
// is counting one report from each source. Only reports that can still be
// followed by the other source's need remembering:
// - a goroutine alive in the last snapshot is in `lastIds` (bounded by the
//   live population, like the snapshot itself);
// - an id counted recently is in a window of the last RECENT ids counted per
//   kind. A report from the other source arrives later only by the lag of
//   the ring buffer: at most as many records as it holds (4 MiB / 40 B, the
//   smallest create/exit record with its header, ≈ 105k) are counted before
//   a late event is read, and snapshots are noted in the same synchronous
//   step as they are taken. A window larger than that makes a late
//   duplicate impossible, not just unlikely.
// `baseline` (alive at the start) is fixed at the start population.
import { indexOfSorted } from '../sorted.ts';

/** Ids remembered per kind; > the records a 4 MiB ring buffer holds (see above). */
export const RECENT = 1 << 17;

/** A set that forgets its oldest member beyond `capacity`. */
export class RecentIds {
  private readonly set = new Set<number>();
  private readonly ring: number[];
  private next = 0;

  constructor(private readonly capacity: number) {
    this.ring = [];
  }

  has(id: number): boolean {
    return this.set.has(id);
  }

  add(id: number): void {
    if (this.set.has(id)) return;
    if (this.ring.length < this.capacity) {
      this.ring.push(id);
    } else {
      this.set.delete(this.ring[this.next]!);
      this.ring[this.next] = id;
      this.next = (this.next + 1) % this.capacity;
    }
    this.set.add(id);
  }

  get size(): number {
    return this.set.size;
  }
}

/** Ascending ids in a typed array: 100k goids as 800 KB rather than a Set of 100k entries (kept for the whole watch). */
class SortedIds {
  readonly ids: Float64Array;

  constructor(ids: Iterable<number>) {
    this.ids = Float64Array.from(ids).sort();
  }

  has(id: number): boolean {
    return indexOfSorted(this.ids, id) >= 0;
  }
}

export class LifecycleCounts {
  created = 0;
  exited = 0;
  private readonly baseline: SortedIds;
  private lastIds: SortedIds;
  private readonly recentCreated: RecentIds;
  private readonly recentExited: RecentIds;

  /** `alive`: the goroutine ids at the start (their exits are not creations). */
  constructor(alive: Iterable<number>, capacity = RECENT) {
    this.baseline = new SortedIds(alive);
    this.lastIds = this.baseline;
    this.recentCreated = new RecentIds(capacity);
    this.recentExited = new RecentIds(capacity);
  }

  /** A create event. */
  onCreate(id: number): void {
    if (!this.lastIds.has(id)) this.countCreated(id);
  }

  /** An exit event. */
  onExit(id: number): void {
    if (this.recentExited.has(id)) return;
    this.recentExited.add(id);
    this.exited++;
    // Created after the start but never seen alive: count its creation too.
    if (!this.baseline.has(id) && !this.lastIds.has(id)) this.countCreated(id);
  }

  /** The ids of a snapshot (any order): those gone since the last one exited, new ones were created. */
  onSnapshot(snapshotIds: Iterable<number>): void {
    const next = new SortedIds(snapshotIds);
    const last = this.lastIds.ids;
    const now = next.ids;
    // A merge of two ascending lists: gone ids are only in `last`, new ones only in `now`.
    let j = 0;
    for (let i = 0; i < last.length; i++) {
      const id = last[i]!;
      while (j < now.length && now[j]! < id) this.arrived(now[j++]!);
      if (j < now.length && now[j] === id) {
        j++;
        continue;
      }
      if (this.recentExited.has(id)) continue;
      this.recentExited.add(id);
      this.exited++;
    }
    while (j < now.length) this.arrived(now[j++]!);
    this.lastIds = next;
  }

  /** In this snapshot, not in the last. */
  private arrived(id: number): void {
    if (!this.baseline.has(id)) this.countCreated(id);
  }

  private countCreated(id: number): void {
    if (this.recentCreated.has(id)) return;
    this.recentCreated.add(id);
    this.created++;
  }
}
