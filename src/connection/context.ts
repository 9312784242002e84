import type { RxwsError } from '../errors';
import type { Logger } from '../logs';
import type { Clock } from '../util/clock';
import type { LatencyHistogram } from '../util/histogram';
import type { OverflowPolicy, QueueLimit } from '../util/hold-queue';
import type { CloseInfo } from './close';
import type { Connection } from './connection';
import type { Message } from './message';

/**
 * The server options a connection reads. The server's resolved options fit it as they are: it
 * passes them, not a copy.
 */
export interface ConnectionSettings {
  readonly waitForCloseResponse: boolean;
  readonly closeTimeout: number;
  readonly disconnectStatusCode: number | undefined;
  readonly disconnectStatusDescription: string;
  readonly outBufferSize: number;
  readonly maxQueue: QueueLimit;
  readonly overflow: OverflowPolicy;
  readonly defaultTimeout: number;
  readonly bufferMessage: boolean;
  readonly maxPayload: number;
  readonly maxFragments: number;
  readonly maxFrameSize: number;
  readonly closeStreamAfterTransfer: boolean;
}

/**
 * What a connection asks of its server's topics (`pubsub/topics.ts`): one per server, so a
 * connection keeps no topic state of its own.
 */
export interface TopicMembership {
  join(connection: Connection, topic: string): boolean;
  leave(connection: Connection, topic: string): boolean;
  topicsOf(connection: Connection): ReadonlySet<string>;
}

/**
 * What every connection of one server shares: its settings, its logger, its topics, where it
 * reports.
 */
export interface ConnectionContext {
  readonly settings: ConnectionSettings;
  readonly logger: Logger;
  readonly topics: TopicMembership;
  /** What times the connection's close wait and send timeouts (the `scheduler` option). */
  readonly clock: Clock;
  /**
   * Where each connection's send queue records how long a queued send waited before reaching
   * the socket (`server.stats.sendQueueWait`); none: not recorded.
   */
  readonly sendQueueWait?: LatencyHistogram;
  /** A message (or piece, with `bufferMessage: false`) for the server's `messages$`. */
  onMessage(message: Message): void;
  /** A failure for the server's `errors$`. */
  onError(error: RxwsError): void;
  /** The connection's socket has closed. */
  onClose(connection: Connection, info: CloseInfo): void;
}
