/**
 * The public types a connection is described with (re-exported by `connection.ts`). Nothing here
 * may import `ws`: these reach the users' declarations, which must not need `@types/ws`.
 */
import type { OpenRequest } from '../handshake/open-request';
import type { OverflowPolicy } from '../util/hold-queue';

/** The HTTP request that opened the connection. */
export type ConnectionRequestDetails = Omit<OpenRequest, 'remoteAddress' | 'remotePort'>;

/** A connection's traffic and queue figures (`conn.stats`). */
export interface ConnectionStats {
  /** Payload bytes and messages received (whole messages). */
  readonly bytesIn: number;
  readonly messagesIn: number;
  /** Payload bytes and messages handed to the socket. */
  readonly bytesOut: number;
  readonly messagesOut: number;
  /** Sends waiting in the queue now, and their payload bytes; the most bytes it has held. */
  readonly queuedMessages: number;
  readonly queuedBytes: number;
  readonly peakQueuedBytes: number;
  /** Sends dropped or refused by the overflow policy, by policy. */
  readonly drops: Readonly<Record<OverflowPolicy, number>>;
  /** Times `pause()` stopped reading. */
  readonly timesPaused: number;
}

/** Addresses of the two ends. */
export interface ConnectionEndpoints {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
}
