import { SendError, type RxwsError } from '../errors';
import { CloseCode } from '../protocol/close-codes';

/** The states of an open connection's life. A connection is created when it is already open. */
export type ConnectionState = 'OPEN' | 'CLOSING' | 'CLOSED';

/** How a connection ended. */
export interface CloseInfo {
  /**
   * The close code received from the client; when none came: the code rxws sent (if rxws
   * closed), else 1006. 1005 means the client's close frame had no code.
   */
  readonly code: number;
  readonly reason: string;
  /** True when close frames went both ways before the socket closed. */
  readonly wasClean: boolean;
  /** The error that closed the connection, if one did. */
  readonly error?: RxwsError;
}

/**
 * A connection's close state, in one place (RFC 6455 section 7): open, closing or closed; the
 * close frame rxws sent; the failure that closed it; and, once the socket has closed, how it
 * ended. The connection acts (close frames, timers); this only keeps the state and answers.
 */
export class CloseState {
  /** rxws's view; `ws` moves to CLOSING by itself when the client's close frame arrives. */
  state: ConnectionState = 'OPEN';
  /** The close frame rxws sent or queued, once it did. */
  sent: { readonly code: number; readonly reason: string } | undefined = undefined;
  /** The error that closed the connection, if one did. */
  failure: RxwsError | undefined = undefined;
  /** How the connection ended; set once its socket has closed. */
  info: CloseInfo | undefined = undefined;

  /** OPEN to CLOSING for a close rxws starts; false when the connection was not open. */
  begin(code: number, reason: string): boolean {
    if (this.state !== 'OPEN') return false;
    this.state = 'CLOSING';
    this.sent = { code, reason };
    return true;
  }

  /** Records the failure that closes the connection. */
  fail(error: RxwsError): void {
    this.failure = error;
    if (this.state === 'OPEN') this.state = 'CLOSING';
  }

  /**
   * The socket has closed, with the code and reason `ws` reports (1006 when no close frame came):
   * CLOSED, and how it ended. Without a close frame from the client, the code is the one rxws
   * sent, else the failure's, else 1006.
   */
  end(code: number, reason: Buffer): CloseInfo {
    this.state = 'CLOSED';
    const received = code !== CloseCode.ABNORMAL;
    const failure = this.failure;
    const info: CloseInfo = {
      code: received ? code : (this.sent?.code ?? failure?.closeCode ?? code),
      reason: received ? reason.toString() : (this.sent?.reason ?? ''),
      wasClean: received,
      ...(failure ? { error: failure } : {}),
    };
    this.info = info;
    return info;
  }
}

/** The error of a send on a connection that is not open. */
export function notOpenError(connectionId: string, state: ConnectionState): SendError {
  return new SendError('ERR_NOT_OPEN', `connection ${connectionId} is not open (${state})`, {
    connectionId,
  });
}
