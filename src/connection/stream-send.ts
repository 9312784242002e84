import type { Readable } from 'node:stream';
import { isObservable, type Observable, type Subscriber, type Subscription } from 'rxjs';
import { InvalidArgumentError, SendError, show } from '../errors';
import type { Outbound, Transfer } from './outbound';
import type { SendProgress } from './transfer-types';

/** Pulls chunks one at a time; `undefined` at the end. */
export interface ChunkPuller {
  next(): Promise<Buffer | undefined>;
  /** Stops reading; destroys a Node stream when `destroy`. */
  cancel(destroy: boolean): void;
}

/** How the connection is told about a transfer that has to close it. */
export interface TransferOwner {
  readonly connectionId: string;
  /** Fragments went out and the message cannot be completed: close (1011) and report `err`. */
  abandon(err: SendError): void;
}

function toBuffer(chunk: unknown): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
  throw new InvalidArgumentError(
    `sendStream(): chunks must be strings or Uint8Arrays, got ${show(chunk)}`,
  );
}

/** A Node Readable, read with `read()` so it is never destroyed unless asked (closeStreamAfterTransfer). */
function fromReadable(stream: Readable): ChunkPuller {
  let failure: Error | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const onReadable = (): void => wake?.();
  const onEnd = (): void => {
    ended = true;
    wake?.();
  };
  const onError = (err: Error): void => {
    failure = err;
    wake?.();
  };
  stream.on('readable', onReadable);
  stream.once('end', onEnd);
  stream.once('error', onError);
  return {
    async next() {
      for (;;) {
        if (failure) throw failure;
        const chunk: unknown = stream.read();
        if (chunk !== null) return toBuffer(chunk);
        if (ended || stream.readableEnded) return undefined;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
    cancel(destroy) {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
      if (destroy) stream.destroy();
    },
  };
}

function fromAsyncIterable(iterable: AsyncIterable<Uint8Array | string>): ChunkPuller {
  const iterator = iterable[Symbol.asyncIterator]();
  return {
    async next() {
      const r = await iterator.next();
      return r.done ? undefined : toBuffer(r.value);
    },
    cancel() {
      void iterator.return?.();
    },
  };
}

/**
 * An Observable cannot be paused: its values wait here while the socket is not ready, bounded
 * by `limit` bytes; past it the transfer fails with `ERR_WOULD_BLOCK`.
 */
function fromObservable(source: Observable<Uint8Array | string>, limit: number): ChunkPuller {
  const chunks: Buffer[] = [];
  let held = 0;
  let done = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  let subscription: Subscription | undefined;
  const start = (): void => {
    subscription = source.subscribe({
      next: (value) => {
        let chunk: Buffer;
        try {
          chunk = toBuffer(value);
        } catch (err) {
          failure = err;
          subscription?.unsubscribe();
          wake?.();
          return;
        }
        held += chunk.length;
        chunks.push(chunk);
        if (held > limit) {
          failure = new SendError(
            'ERR_WOULD_BLOCK',
            `sendStream(): the source got ${held} bytes ahead of the socket (maxQueue.bytes ${limit})`,
          );
          subscription?.unsubscribe();
        }
        wake?.();
      },
      error: (err: unknown) => {
        failure = err;
        wake?.();
      },
      complete: () => {
        done = true;
        wake?.();
      },
    });
  };
  return {
    async next() {
      if (!subscription) start();
      for (;;) {
        if (failure !== undefined) throw failure;
        const chunk = chunks.shift();
        if (chunk) {
          held -= chunk.length;
          return chunk;
        }
        if (done) return undefined;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
    cancel() {
      subscription?.unsubscribe();
      chunks.length = 0;
    },
  };
}

/** Makes a puller for any source `sendStream()` takes. @throws {InvalidArgumentError} */
export function chunkPuller(source: unknown, limit: number): ChunkPuller {
  if (isObservable(source)) return fromObservable(source as Observable<Uint8Array | string>, limit);
  if (isReadable(source)) return fromReadable(source);
  if (source !== null && typeof source === 'object' && Symbol.asyncIterator in source) {
    return fromAsyncIterable(source as AsyncIterable<Uint8Array | string>);
  }
  throw new InvalidArgumentError(
    `sendStream() takes an Observable, an async iterable or a Readable, got ${show(source)}`,
  );
}

function isReadable(value: unknown): value is Readable {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as Readable).read === 'function' &&
    typeof (value as Readable).on === 'function' &&
    'readableEnded' in value
  );
}

/**
 * One streamed message in the connection's send queue: pulls a chunk while the socket can take
 * it, writes it as a frame (the first with the text/binary opcode, then continuations), waits
 * for a drain when the socket is full, and ends with a FIN frame. Cancelled (`interrupt()`, an
 * unsubscribe, a source error, a length mismatch): if no frame went out nothing is sent and the
 * connection goes on; if some did, the message cannot be completed and the connection is closed
 * with 1011 through `owner.abandon()`: the peer never takes a truncated message for a whole one.
 */
export class StreamTransfer implements Transfer {
  /** Its connection cancels it on close (`Transfers.cancelAll()`), not the queue. */
  readonly endsWithQueue = false;
  private sentAny = false;
  private bytesSent = 0;
  private pulling = false;
  private finished = false;
  private started = false;

  constructor(
    private readonly outbound: Outbound,
    private readonly owner: TransferOwner,
    private readonly puller: ChunkPuller,
    private readonly binary: boolean,
    private readonly length: number | undefined,
    private readonly destroySource: boolean,
    private readonly subscriber: Subscriber<SendProgress>,
  ) {}

  start(): void {
    this.started = true;
    void this.pump();
  }

  resume(): void {
    if (this.started) void this.pump();
  }

  refused(err: Error | undefined): void {
    this.end();
    this.subscriber.error(
      err ??
        new SendError('ERR_NOT_OPEN', `connection ${this.owner.connectionId} closed`, {
          connectionId: this.owner.connectionId,
        }),
    );
  }

  queueFailed(): boolean {
    return false;
  }

  /** Stops the transfer with `err` (told to the subscriber unless it left). */
  cancel(err: SendError, notify: boolean): void {
    if (this.finished) return;
    if (!this.started && this.outbound.withdrawTransfer(this)) {
      this.end();
      if (notify) this.subscriber.error(err);
      return;
    }
    this.fail(err, notify);
  }

  private async pump(): Promise<void> {
    if (this.pulling || this.finished) return;
    this.pulling = true;
    try {
      while (!this.finished && this.outbound.canWrite) {
        let chunk: Buffer | undefined;
        try {
          chunk = await this.puller.next();
        } catch (err) {
          this.fail(
            err instanceof SendError
              ? err
              : new SendError(
                  'ERR_INVALID_DATA',
                  `sendStream(): the source failed: ${String((err as Error)?.message ?? err)}`,
                  {
                    connectionId: this.owner.connectionId,
                    cause: err,
                  },
                ),
            true,
          );
          return;
        }
        if (this.finished) return;
        if (chunk === undefined) {
          this.complete();
          return;
        }
        if (chunk.length === 0) continue;
        const total = this.bytesSent + chunk.length;
        if (this.length !== undefined && total > this.length) {
          this.fail(this.mismatch(`more than the declared ${this.length} bytes`), true);
          return;
        }
        const fin = this.length !== undefined && total === this.length;
        this.outbound.writeFragment(chunk, this.binary, !this.sentAny, fin);
        this.sentAny = true;
        this.bytesSent = total;
        this.subscriber.next({ bytesSent: total, totalBytes: this.length });
        if (fin) {
          await this.checkNothingMore();
          return;
        }
      }
    } finally {
      this.pulling = false;
    }
  }

  /** After the declared length: the source must end there. */
  private async checkNothingMore(): Promise<void> {
    let extra: Buffer | undefined;
    try {
      extra = await this.puller.next();
    } catch {
      extra = undefined;
    }
    // The message went out whole, as declared; a source that had more is still an error.
    if (extra && extra.length > 0) {
      this.end();
      this.subscriber.error(this.mismatch(`more than the declared ${this.length} bytes`));
      return;
    }
    this.end();
    this.subscriber.complete();
  }

  private complete(): void {
    if (this.length !== undefined && this.bytesSent !== this.length) {
      this.fail(this.mismatch(`${this.bytesSent} bytes, not the declared ${this.length}`), true);
      return;
    }
    // The FIN frame: empty, or the whole (empty) message when nothing was sent.
    this.outbound.writeFragment(Buffer.alloc(0), this.binary, !this.sentAny, true);
    this.end();
    this.subscriber.next({ bytesSent: this.bytesSent, totalBytes: this.length });
    this.subscriber.complete();
  }

  private mismatch(what: string): SendError {
    return new SendError('ERR_INVALID_DATA', `sendStream(): the source delivered ${what}`, {
      connectionId: this.owner.connectionId,
    });
  }

  private fail(err: SendError, notify: boolean): void {
    if (this.finished) return;
    const sentAny = this.sentAny;
    this.end();
    if (sentAny) this.owner.abandon(err);
    if (notify) this.subscriber.error(err);
  }

  private end(): void {
    if (this.finished) return;
    this.finished = true;
    this.puller.cancel(this.destroySource);
    this.outbound.transferEnded(this);
  }
}
