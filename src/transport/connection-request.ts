import type { Observable } from 'rxjs';
import type { ConnectionRefusedError } from '../errors';

/**
 * A TCP connection request, seen before any byte of it is read (IPWorks' ConnectionRequest).
 * It flows through the connection-request pipeline; any stage may refuse it.
 */
export interface ConnectionRequest {
  /** The client's address; IPv4-mapped IPv6 shown as IPv4. */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The server address the client connected to. */
  readonly localAddress: string;
  readonly localPort: number;
  /** True once a stage has refused the request. */
  readonly refused: boolean;
  /**
   * Refuses the request: the socket is destroyed without a byte written, and the refusal is
   * logged with its reason. Calling it again does nothing.
   */
  refuse(reason: ConnectionRefusedError): void;
  /**
   * Emits once, then completes, when the request's socket has closed: refused, timed out, or
   * the connection it became has closed (at once when it is closed already). What a limit of
   * connections in flight (`limitConnections()`) counts with.
   */
  readonly closed$: Observable<void>;
}

/** What `onConnectionRequest` sees: the request without the power to refuse it directly. */
export type ConnectionRequestInfo = Pick<
  ConnectionRequest,
  'remoteAddress' | 'remotePort' | 'localAddress' | 'localPort'
>;
