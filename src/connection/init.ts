/** What the server makes a connection from (internal: it names `ws`'s types). */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { ConnectionContext } from './context';
import type { ConnectionEndpoints, ConnectionRequestDetails } from './types';

/** What a connection is made from, in one object. */
export interface ConnectionInit {
  readonly id: string;
  /** `ws`'s WebSocket, made by the handshake with rxws's streaming receiver. */
  readonly ws: WebSocket;
  readonly socket: Socket;
  readonly endpoints: ConnectionEndpoints;
  readonly request: ConnectionRequestDetails;
  readonly context: ConnectionContext;
  /** What `onOpenRequest` accepted the connection with (`conn.data`). */
  readonly data: unknown;
}
