// A Session owns everything gtop holds on one target process, with one
// idempotent close(): the memory fd now, probes later.
import { type BinaryInfo, loadBinary } from './binary/index.ts';
import { GtopError, MemoryReadError } from './errors.ts';
import type { Snapshot } from './runtime/goroutine.ts';
import { type SnapshotContext, readGoroutines, takeSnapshot } from './runtime/snapshot.ts';
import type { ColumnWriter, SnapshotEncoder, WireSnapshot } from './runtime/compact.ts';
import { TargetMemory } from './target/memory.ts';
import { type TargetProcess, openTarget } from './target/process.ts';

export class Session {
  readonly target: TargetProcess;
  readonly bin: BinaryInfo;
  readonly bias: number;
  private readonly mem: TargetMemory;
  private readonly gmem: TargetMemory;
  private closed = false;

  private constructor(target: TargetProcess, bin: BinaryInfo, mem: TargetMemory, gmem: TargetMemory, bias: number) {
    this.target = target;
    this.bin = bin;
    this.mem = mem;
    this.gmem = gmem;
    this.bias = bias;
  }

  static open(pid: number): Session {
    const target = openTarget(pid);
    const name = `process ${pid} (${target.exeDisplayName})`;
    const bin = loadBinary(target.exePath, { displayName: name });
    let bias: number;
    try {
      bias = target.loadBias(bin.elf);
    } catch (err) {
      bin.elf.close();
      throw err;
    }
    // The snapshot reads in address order, so small caches lose nothing and
    // keep gtop's RSS low: at 100k goroutines 16 MiB, 4 MiB and 1 MiB made
    // the same 15,486 reads, and readWaits' time was within noise. The pools
    // hold the cache plus 64 evicted chunks (TargetMemory's quarantine):
    // 8 MiB + 2 MiB here, 25 MiB with 16 + 4 MiB. Stacks are dense (large
    // chunks pay); g structs are a few per heap span (16 KiB chunks: fewer
    // pages than 64 KiB, fewer syscalls than 4 KiB).
    let mem: TargetMemory | undefined;
    try {
      mem = new TargetMemory(pid, { maxCacheBytes: 4 << 20 });
      const gmem = new TargetMemory(pid, { chunkSize: 16384, maxCacheBytes: 1 << 20 });
      return new Session(target, bin, mem, gmem, bias);
    } catch (err) {
      // e.g. /proc/PID/mem not readable: nothing of the target stays open.
      mem?.close();
      bin.elf.close();
      throw err;
    }
  }

  /** The target's memory, for readers beyond the snapshot (src/analysis). */
  get memory(): TargetMemory {
    return this.mem;
  }

  snapshot(): Snapshot {
    return this.read((ctx) => takeSnapshot(ctx));
  }

  /**
   * A snapshot straight into columns (runtime/compact.ts), for the TUI's
   * worker: no Goroutine object outlives its read. `encoder` remembers the
   * stacks already sent.
   */
  snapshotColumns(encoder: SnapshotEncoder): WireSnapshot {
    let writer: ColumnWriter | undefined;
    const header = this.read((ctx) => readGoroutines(ctx, (n) => (writer = encoder.writer(n))));
    return writer!.finish(header);
  }

  private read<T>(f: (ctx: SnapshotContext) => T): T {
    if (this.closed) throw new Error('session is closed');
    const gone = (cause?: unknown): GtopError =>
      new GtopError('process-gone', `process ${this.target.pid} exited while gtop was reading it`, { cause });
    let out: T;
    try {
      out = f({ pid: this.target.pid, exe: this.target.exeDisplayName, bin: this.bin, mem: this.mem, gmem: this.gmem, bias: this.bias });
    } catch (err) {
      if (err instanceof MemoryReadError && !this.target.isAlive()) throw gone(err);
      if (err instanceof MemoryReadError) {
        throw new GtopError('internal', `cannot read the goroutines of process ${this.target.pid}: ${err.message}`, { cause: err });
      }
      throw err;
    }
    // Reads that fail because the process died mid-snapshot look like torn
    // goroutines; a snapshot of a dead process is not a result.
    if (!this.target.isAlive()) throw gone();
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.mem.close();
    this.gmem.close();
    // The executable's descriptor: a deleted binary is not kept busy past the session.
    this.bin.elf.close();
  }
}
