import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { Observable, type Subscriber, type Subscription } from 'rxjs';
import { InvalidArgumentError, SendError, show } from '../errors';
import { notOpenError, type ConnectionState } from './close';
import { openFile } from './file';
import type { MessageFormat } from './outbound-data';
import type { Outbound } from './outbound';
import { chunkPuller, StreamTransfer, type ChunkPuller, type TransferOwner } from './stream-send';
import type {
  FileSendOptions,
  SendProgress,
  StreamSendOptions,
  StreamSource,
} from './transfer-types';

/** What the transfers of a connection need of it. */
export interface TransfersOwner {
  readonly id: string;
  readonly state: ConnectionState;
  /** A streamed send stopped after some of its fragments went out: close with 1011. */
  abandonTransfer(err: SendError): void;
}

/**
 * A connection's streamed sends (`sendStream()`, `sendFile()`, `interrupt()`): each one starts
 * when its subscriber subscribes, waits its turn in the connection's send queue, and is
 * cancelled by an unsubscribe, `interrupt()` or the connection's close. Made at the first
 * streamed send: a connection that never streams does without.
 */
export class Transfers implements TransferOwner {
  private readonly running = new Set<StreamTransfer>();

  constructor(
    private readonly connection: TransfersOwner,
    private readonly outbound: Outbound,
  ) {}

  get connectionId(): string {
    return this.connection.id;
  }

  abandon(err: SendError): void {
    this.connection.abandonTransfer(err);
  }

  /** See `Connection.sendStream()`. */
  stream(
    source: StreamSource,
    options: StreamSendOptions,
    destroySource: boolean,
  ): Observable<SendProgress> {
    return new Observable<SendProgress>((subscriber) => {
      const { format = 'binary', length } = options;
      if (format !== 'text' && format !== 'binary') {
        throw new InvalidArgumentError(`format must be "text" or "binary", got ${show(format)}`);
      }
      if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
        throw new InvalidArgumentError(
          `length must be a non-negative integer, got ${show(length)}`,
        );
      }
      return this.start(
        subscriber,
        chunkPuller(source, this.outbound.limit.bytes),
        format === 'binary',
        length,
        destroySource,
      );
    });
  }

  /** See `Connection.sendFile()`. */
  file(path: string, options: FileSendOptions): Observable<SendProgress> {
    return new Observable<SendProgress>((subscriber) => {
      const { format = 'binary', chunkSize = 64 * 1024 } = options;
      if (typeof path !== 'string' || path === '') {
        throw new InvalidArgumentError(`sendFile() takes a file path, got ${show(path)}`);
      }
      if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
        throw new InvalidArgumentError(
          `chunkSize must be a positive integer, got ${show(chunkSize)}`,
        );
      }
      let inner: Subscription | undefined;
      let cancelled = false;
      let handle: FileHandle | undefined;
      openFile(path)
        .then(({ file, size }) => {
          handle = file;
          if (cancelled) {
            void file.close();
            return;
          }
          const stream = file.createReadStream({ highWaterMark: chunkSize });
          inner = this.owned(stream, format, size).subscribe(subscriber);
        })
        .catch((err: NodeJS.ErrnoException) => {
          subscriber.error(
            new SendError('ERR_FILE', `sendFile(): cannot read ${path}: ${err.message}`, {
              connectionId: this.connection.id,
              cause: err,
            }),
          );
        });
      return () => {
        cancelled = true;
        inner?.unsubscribe();
        if (!inner) void handle?.close();
      };
    });
  }

  /**
   * Cancels the streamed send that owns the line, if any; see `Connection.interrupt()`.
   * @returns false when no streamed send was in flight.
   */
  interrupt(): boolean {
    const active = this.outbound.activeTransfer;
    if (!active || !this.running.has(active as StreamTransfer)) return false;
    const transfer = active as StreamTransfer;
    this.running.delete(transfer);
    transfer.cancel(this.interrupted('interrupt() was called'), true);
    return true;
  }

  /** The connection closed: every streamed send fails with `err`. */
  cancelAll(err: SendError): void {
    for (const transfer of this.running) transfer.cancel(err, true);
    this.running.clear();
  }

  /** A stream rxws opened itself: always destroyed at the end. */
  private owned(stream: Readable, format: MessageFormat, length: number): Observable<SendProgress> {
    return new Observable<SendProgress>((subscriber) =>
      this.start(
        subscriber,
        chunkPuller(stream, this.outbound.limit.bytes),
        format === 'binary',
        length,
        true,
      ),
    );
  }

  /** Queues a streamed send for `subscriber`; returns its teardown (cancel on unsubscribe). */
  private start(
    subscriber: Subscriber<SendProgress>,
    puller: ChunkPuller,
    binary: boolean,
    length: number | undefined,
    destroySource: boolean,
  ): () => void {
    const state = this.connection.state;
    if (state !== 'OPEN') {
      puller.cancel(destroySource);
      throw notOpenError(this.connection.id, state);
    }
    const transfer = new StreamTransfer(
      this.outbound,
      this,
      puller,
      binary,
      length,
      destroySource,
      subscriber,
    );
    this.running.add(transfer);
    this.outbound.enqueueTransfer(transfer);
    return () => {
      this.running.delete(transfer);
      transfer.cancel(this.interrupted('the subscriber unsubscribed'), false);
    };
  }

  private interrupted(why: string): SendError {
    return new SendError(
      'ERR_INTERRUPTED',
      `streamed send on connection ${this.connection.id} cancelled: ${why}`,
      { connectionId: this.connection.id },
    );
  }
}
