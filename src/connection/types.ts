/** The types a connection is described and made with (re-exported by `connection.ts`). */
import type { OpenRequest } from '../handshake/open-request';
import type { OverflowPolicy } from '../util/hold-queue';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { ConnectionContext } from './context';

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

/** What a connection is made from, in one object. */
export interface ConnectionInit {
  readonly id: string;
  /** `ws`'s WebSocket, made by the handshake with rxws's streaming receiver. */
  readonly ws: WebSocket;
  readonly socket: Socket;
  readonly endpoints: ConnectionEndpoints;
  readonly request: ConnectionRequestDetails;
  readonly context: ConnectionContext;
}
