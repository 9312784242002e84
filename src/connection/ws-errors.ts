import { ConnectionError, type RxwsErrorCode } from '../errors';
import { CloseCode } from '../protocol/close-codes';

/**
 * The errors `ws` emits on a WebSocket (its documented `WS_ERR_*` codes), mapped to rxws's codes
 * and the close code `ws` closes the connection with. Pure.
 */
const WS_ERRORS: Record<string, [RxwsErrorCode, number]> = {
  WS_ERR_INVALID_UTF8: ['ERR_INVALID_PAYLOAD', CloseCode.INVALID_PAYLOAD],
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: ['ERR_MESSAGE_TOO_BIG', CloseCode.MESSAGE_TOO_BIG],
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: ['ERR_MESSAGE_TOO_BIG', CloseCode.MESSAGE_TOO_BIG],
  WS_ERR_TOO_MANY_BUFFERED_PARTS: ['ERR_MESSAGE_TOO_BIG', CloseCode.POLICY_VIOLATION],
};

/**
 * Maps an error `ws` emitted to rxws's typed error: a known code to its own, any other
 * `WS_ERR_*` to `ERR_PROTOCOL` (1002), anything else (a socket error) to `ERR_SOCKET` (1006).
 */
export function toConnectionError(
  err: Error & { code?: string },
  connectionId: string,
): ConnectionError {
  const known = err.code ? WS_ERRORS[err.code] : undefined;
  if (known) {
    return new ConnectionError(known[0], err.message, {
      cause: err,
      connectionId,
      closeCode: known[1],
    });
  }
  if (err.code?.startsWith('WS_ERR_')) {
    return new ConnectionError('ERR_PROTOCOL', err.message, {
      cause: err,
      connectionId,
      closeCode: CloseCode.PROTOCOL_ERROR,
    });
  }
  return new ConnectionError('ERR_SOCKET', err.message, {
    cause: err,
    connectionId,
    closeCode: CloseCode.ABNORMAL,
  });
}
