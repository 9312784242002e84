import type { Observer } from 'rxjs';
import { CloseCode, isValidCloseCode } from '../protocol/close-codes';
import type { OutboundData } from './outbound-data';

/** What the sink asks of its connection. */
export interface SinkOwner {
  /** What `sink.next()` does. */
  sinkNext(value: OutboundData): void;
  /** What `sink.error()` and `sink.complete()` do: close with `code`. */
  closeFromSink(code: number): void;
}

/** The connection's Observer side; a class, so an idle connection pays for no closures. */
export class ConnectionSink implements Observer<OutboundData> {
  constructor(private readonly connection: SinkOwner) {}

  next(value: OutboundData): void {
    this.connection.sinkNext(value);
  }

  error(err: unknown): void {
    const code = (err as { closeCode?: unknown } | null)?.closeCode;
    this.connection.closeFromSink(
      typeof code === 'number' && isValidCloseCode(code) ? code : CloseCode.INTERNAL_ERROR,
    );
  }

  complete(): void {
    this.connection.closeFromSink(CloseCode.NORMAL);
  }
}
