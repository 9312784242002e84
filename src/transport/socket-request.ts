import type { Socket } from 'node:net';
import type { Observable } from 'rxjs';
import { socketClosed } from '../util/socket-closed';
import type { ConnectionRefusedError } from '../errors';
import { displayAddress } from './address';
import type { ConnectionRequest } from './connection-request';

/** The server end of a connection. */
export interface LocalEnd {
  readonly address: string;
  readonly port: number;
}

/**
 * Where the client reached the server: `fixed` (the listening address, when the server is bound
 * to one) or else the socket's own local end, read with a getsockname() while it is open.
 */
export function localEndOf(socket: Socket, fixed: LocalEnd | undefined): LocalEnd {
  return (
    fixed ?? { address: displayAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 }
  );
}

/** What happens to a request once the pipeline has decided, and what the server knows of it. */
export interface RequestOutcome {
  refused(request: SocketRequest, reason: ConnectionRefusedError): void;
  accepted(request: SocketRequest): void;
  /** The local end of every socket, when the server listens on one address. */
  localEnd(): LocalEnd | undefined;
}

/**
 * A connection request for one accepted socket. It lives only while the pipeline decides: the
 * server keeps no reference to it afterwards.
 */
export class SocketRequest implements ConnectionRequest {
  readonly remoteAddress: string;
  readonly remotePort: number;
  private _refused = false;

  constructor(
    readonly socket: Socket,
    private readonly outcome: RequestOutcome,
    /** What to do with the socket once accepted: hand it to HTTP, or go on with its upgrade. */
    readonly continueWith: () => void,
  ) {
    this.remoteAddress = displayAddress(socket.remoteAddress ?? '');
    this.remotePort = socket.remotePort ?? 0;
  }

  /** Read when asked (by a hook), not for every socket; see `localEndOf()`. */
  get localAddress(): string {
    return localEndOf(this.socket, this.outcome.localEnd()).address;
  }

  get localPort(): number {
    return localEndOf(this.socket, this.outcome.localEnd()).port;
  }

  get refused(): boolean {
    return this._refused;
  }

  get closed$(): Observable<void> {
    return socketClosed(this.socket);
  }

  refuse(reason: ConnectionRefusedError): void {
    if (this._refused) return;
    this._refused = true;
    this.outcome.refused(this, reason);
    this.socket.destroy();
  }

  /** Called by the server for a request that came out of the pipeline. */
  proceed(): void {
    if (this._refused || this.socket.destroyed) return;
    this.outcome.accepted(this);
  }
}
