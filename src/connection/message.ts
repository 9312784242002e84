import type { Connection } from './connection';
import type { MessageFormat } from './outbound-data';

/** A message received: text arrives as `string`, binary as `Buffer`. */
export interface Message<TData = unknown> {
  /** The connection it came from (its `data` typed by `createServer<TData>()`). */
  readonly connection: Connection<TData>;
  readonly data: string | Buffer;
  readonly format: MessageFormat;
  /** End of message: true when `data` completes the message (always, for whole messages). */
  readonly eom: boolean;
}
