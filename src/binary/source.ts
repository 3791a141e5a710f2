// Where an executable's bytes come from: a Buffer (tests, fuzzing) or a file
// descriptor read with pread on demand. gtop holds on to the pclntab and a few
// words of data; the rest of a 30–150 MB binary (.text for probe placement,
// DWARF for layouts) is read during setup and then dropped, so its memory is
// not held for the session's life.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { BinaryFormatError, GtopError } from '../errors.ts';

export interface ByteSource {
  /** The file's size when opened. */
  readonly size: number;
  /**
   * Exactly `len` bytes at file offset `off`; BinaryFormatError when the range
   * is not in the file. A Buffer source returns a view, a file source a copy.
   */
  read(off: number, len: number): Buffer;
  close(): void;
}

function checkRange(off: number, len: number, size: number): void {
  if (!(Number.isSafeInteger(off) && Number.isSafeInteger(len) && off >= 0 && len >= 0 && off + len <= size)) {
    throw new BinaryFormatError(`read of ${len} bytes at ${off} past end of file (${size} bytes)`);
  }
}

export class BufferSource implements ByteSource {
  constructor(private readonly data: Buffer) {}

  get size(): number {
    return this.data.length;
  }

  read(off: number, len: number): Buffer {
    checkRange(off, len, this.data.length);
    return this.data.subarray(off, off + len);
  }

  close(): void {}
}

// A source dropped without close() (a test's loadBinary, an error path) still
// gives its descriptor back once collected; Session.close closes it at once.
const orphans = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
});

export class FileSource implements ByteSource {
  readonly size: number;
  private fd: number | undefined;

  /** Opens `path` read-only; the open's errors (ENOENT, EACCES, …) propagate for the caller to name. */
  constructor(path: string, private readonly name: string) {
    const fd = openSync(path, 'r');
    try {
      this.size = fstatSync(fd).size;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    this.fd = fd;
    orphans.register(this, fd, this);
  }

  read(off: number, len: number): Buffer {
    if (this.fd === undefined) throw new GtopError('internal', `the executable of ${this.name} was read after its session closed`);
    checkRange(off, len, this.size);
    const buf = Buffer.allocUnsafe(len);
    let done = 0;
    while (done < len) {
      let n: number;
      try {
        n = readSync(this.fd, buf, done, len - done, off + done);
      } catch (err) {
        throw new GtopError('bad-binary', `cannot read the executable of ${this.name}: ${(err as Error).message}`, { cause: err });
      }
      // The file shrank after it was opened: what a truncated file gives.
      if (n === 0) throw new BinaryFormatError(`the executable of ${this.name} ends at ${off + done}, before ${off + len}`);
      done += n;
    }
    return buf;
  }

  /** Releases the descriptor: a deleted executable is not kept busy past the session. Idempotent. */
  close(): void {
    if (this.fd === undefined) return;
    orphans.unregister(this);
    closeSync(this.fd);
    this.fd = undefined;
  }
}
