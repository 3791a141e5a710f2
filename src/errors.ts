// One error type for everything a user can cause or fix. The CLI prints
// `message` as one line and exits with `exitCode`; anything else is a bug
// and gets a stack trace.

export type ErrorKind =
  | 'usage'
  | 'no-such-process'
  | 'permission'
  | 'not-go'
  | 'unsupported-go'
  | 'bad-binary'
  | 'process-gone'
  | 'kernel-thread'
  | 'zombie'
  | 'bpf-unavailable'
  | 'internal';

export class GtopError extends Error {
  readonly kind: ErrorKind;
  readonly exitCode: number;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GtopError';
    this.kind = kind;
    this.exitCode = kind === 'usage' ? 2 : 1;
  }
}

/** A malformed or truncated binary: raised by every reader in src/binary. */
export class BinaryFormatError extends GtopError {
  constructor(what: string, options?: { cause?: unknown }) {
    super('bad-binary', what, options);
    this.name = 'BinaryFormatError';
  }
}

/** A read of target memory that failed (unmapped, process gone, torn). */
export class MemoryReadError extends Error {
  readonly addr: number;
  constructor(addr: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MemoryReadError';
    this.addr = addr;
  }
}
