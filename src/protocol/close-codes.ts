import { InvalidArgumentError, show } from '../errors';

/**
 * Close codes and reasons (RFC 6455 section 7.4). Pure.
 */

/** Named close codes used by rxws. */
export const CloseCode = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  NO_STATUS: 1005,
  ABNORMAL: 1006,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
});

/** A close reason is at most 123 bytes: a control frame carries 125, two of them the code. */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * True for a code an endpoint may put in a close frame: 1000–1003, 1007–1014 and 3000–4999.
 * 1004 is reserved; 1005, 1006 and 1015 must never be sent (RFC 6455 section 7.4.1).
 */
export function isValidCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) ||
      (code >= 1007 && code <= 1014) ||
      (code >= 3000 && code <= 4999))
  );
}

/** Byte length of a string in UTF-8, without encoding it. */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * Checks a close code and reason given to `disconnect()` or `shutdown()`.
 * @throws {InvalidArgumentError} naming `label` (`close`, `shutdown`) and the wrong value.
 */
export function assertCloseArgs(label: string, code: unknown, reason: unknown): void {
  if (typeof code !== 'number' || !isValidCloseCode(code)) {
    throw new InvalidArgumentError(
      `${label} code must be 1000-1003, 1007-1014 or 3000-4999, got ${show(code)}`,
    );
  }
  if (typeof reason !== 'string' || utf8Length(reason) > MAX_CLOSE_REASON_BYTES) {
    throw new InvalidArgumentError(
      `${label} reason must be a string of at most ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes, got ${show(reason)}`,
    );
  }
}
