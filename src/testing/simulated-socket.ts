import { EventEmitter } from 'node:events';
import type { SchedulerLike } from 'rxjs';

type WriteCallback = (err?: Error | null) => void;

/** Node's default high-water mark of a socket's write side: write() answers false from here. */
const HIGH_WATER_MARK = 16 * 1024;

/**
 * The server end of an in-memory connection, as much of a `net.Socket` as rxws's connection
 * uses: writes, the write buffer and its `'drain'`, destruction. The peer reads what is written
 * at once while it `reads`; while it does not, writes wait in the buffer (`writableLength`) as
 * they would in the socket's and the kernel's, and their callbacks wait with them.
 *
 * Callbacks, `'drain'` and `'close'` come later on the scheduler (at the same virtual time in a
 * `TestScheduler`), never inside the call that caused them, as Node's do.
 */
export class SimulatedSocket extends EventEmitter {
  /** Bytes written and not yet read by the peer. */
  writableLength = 0;
  /** True after a write() that answered false, until the buffer has been read. */
  writableNeedDrain = false;
  destroyed = false;
  /** Bytes the peer sent (what liveness watches). */
  bytesRead = 0;
  private waiting: Array<{ chunk: Buffer; cb: WriteCallback | undefined }> = [];
  private reading = true;
  private ending = false;

  constructor(
    private readonly scheduler: SchedulerLike,
    /** The peer reads these bytes. */
    private readonly deliver: (chunk: Buffer) => void,
  ) {
    super();
  }

  get writable(): boolean {
    return !this.destroyed && !this.ending;
  }

  write(chunk: Buffer | string, cb?: WriteCallback): boolean {
    if (!this.writable) {
      if (cb) this.later(() => cb(new Error('write after the socket ended')));
      return false;
    }
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.reading && this.waiting.length === 0) {
      this.deliver(bytes);
      if (cb) this.later(() => cb());
      return true;
    }
    this.waiting.push({ chunk: bytes, cb });
    this.writableLength += bytes.length;
    if (this.writableLength >= HIGH_WATER_MARK) this.writableNeedDrain = true;
    return !this.writableNeedDrain;
  }

  /** Frames go to the peer as written: there is no syscall to save. */
  cork(): void {}
  uncork(): void {}

  /** Whether the peer reads; when it starts again it reads everything waiting, then 'drain'. */
  setReading(reading: boolean): void {
    this.reading = reading;
    if (reading) this.read(Infinity);
  }

  /**
   * The peer reads at most `bytes` of what waits (a chunk may be read in part): the callbacks of
   * the writes read whole run, and `'drain'` comes once nothing waits.
   */
  read(bytes: number): void {
    if (this.destroyed || this.waiting.length === 0) return;
    const done: Array<WriteCallback | undefined> = [];
    let left = bytes;
    while (this.waiting.length > 0 && (left > 0 || this.waiting[0].chunk.length === 0)) {
      const first = this.waiting[0];
      const take = Math.min(left, first.chunk.length);
      if (take > 0) this.deliver(first.chunk.subarray(0, take));
      left -= take;
      this.writableLength -= take;
      if (take < first.chunk.length) {
        first.chunk = first.chunk.subarray(take);
        break;
      }
      this.waiting.shift();
      done.push(first.cb);
    }
    const drain = this.waiting.length === 0 && this.writableNeedDrain;
    if (drain) this.writableNeedDrain = false;
    this.later(() => {
      for (const cb of done) cb?.();
      if (drain && !this.destroyed) this.emit('drain');
      if (this.ending && this.waiting.length === 0) this.destroy();
    });
  }

  /** Ends the write side: the socket closes once what is written has been read. */
  end(): void {
    if (this.ending || this.destroyed) return;
    this.ending = true;
    if (this.waiting.length === 0) this.destroy();
  }

  destroySoon(): void {
    this.end();
  }

  /** Closes at once: what the peer has not read is lost, and its callbacks fail. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    const lost = this.waiting;
    this.waiting = [];
    this.writableLength = 0;
    this.later(() => {
      const error = new Error('the socket was destroyed');
      for (const { cb } of lost) cb?.(error);
      this.emit('close', false);
    });
  }

  setNoDelay(): this {
    return this;
  }

  private later(work: () => void): void {
    this.scheduler.schedule(work);
  }
}
