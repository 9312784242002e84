import type { Socket } from 'node:net';
import type { ConnectionRefusedError } from '../errors';
import { displayAddress } from './address';
import type { ConnectionRequest } from './connection-request';

/** What happens to a request once the pipeline has decided. */
export interface RequestOutcome {
  refused(request: SocketRequest, reason: ConnectionRefusedError): void;
  accepted(request: SocketRequest): void;
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

  /** Read when asked (by a hook): the socket is open while the pipeline decides. */
  get localAddress(): string {
    return displayAddress(this.socket.localAddress ?? '');
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  get refused(): boolean {
    return this._refused;
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
