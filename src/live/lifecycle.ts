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

export class LifecycleCounts {
  created = 0;
  exited = 0;
  private readonly baseline: ReadonlySet<number>;
  private lastIds: Set<number>;
  private readonly recentCreated: RecentIds;
  private readonly recentExited: RecentIds;

  /** `alive`: the goroutine ids at the start (their exits are not creations). */
  constructor(alive: Iterable<number>, capacity = RECENT) {
    this.baseline = new Set(alive);
    this.lastIds = new Set(this.baseline);
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

  /** The ids of a snapshot: those gone since the last one exited, new ones were created. */
  onSnapshot(ids: ReadonlySet<number>): void {
    for (const id of this.lastIds) {
      if (ids.has(id) || this.recentExited.has(id)) continue;
      this.recentExited.add(id);
      this.exited++;
    }
    for (const id of ids) if (!this.baseline.has(id) && !this.lastIds.has(id)) this.countCreated(id);
    this.lastIds = new Set(ids);
  }

  private countCreated(id: number): void {
    if (this.recentCreated.has(id)) return;
    this.recentCreated.add(id);
    this.created++;
  }
}
