// A stdin Ink can put in raw mode, for rendering the real App outside a
// terminal (the flicker test, bench/ui): press() hands Ink one key.
import { EventEmitter } from 'node:events';

export class FakeKeyboard extends EventEmitter {
  readonly isTTY = true;
  private pending: string | null = null;
  setRawMode(): this { return this; }
  setEncoding(): this { return this; }
  ref(): this { return this; }
  unref(): this { return this; }
  resume(): this { return this; }
  pause(): this { return this; }
  read(): string | null {
    const p = this.pending;
    this.pending = null;
    return p;
  }
  press(key: string): void {
    this.pending = key;
    this.emit('readable');
  }
}
