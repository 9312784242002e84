/**
 * Every error rxws produces, with a stable string `code` to switch on.
 *
 * Three channels (see the README's error table):
 * 1. misuse throws at once (`InvalidOptionError`, `InvalidArgumentError`);
 * 2. a failure of one connection is emitted once on `server.errors$` and `conn.errors$`;
 * 3. a failed send rejects that send's Promise.
 */

/** The stable codes carried by rxws errors. */
export type RxwsErrorCode =
  | 'ERR_INVALID_OPTION'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_INVALID_DATA'
  | 'ERR_ADDRESS_IN_USE'
  | 'ERR_LISTEN'
  | 'ERR_NOT_OPEN'
  | 'ERR_TIMEOUT'
  | 'ERR_WOULD_BLOCK'
  | 'ERR_DROPPED'
  | 'ERR_INTERRUPTED'
  | 'ERR_FILE'
  | 'ERR_NOT_ALLOWED'
  | 'ERR_MAX_CONNECTIONS'
  | 'ERR_MAX_PER_ADDRESS'
  | 'ERR_MAX_HANDSHAKES'
  | 'ERR_CONNECTION_REFUSED'
  | 'ERR_BAD_REQUEST'
  | 'ERR_SHUTTING_DOWN'
  | 'ERR_HOOK'
  | 'ERR_PROTOCOL'
  | 'ERR_INVALID_PAYLOAD'
  | 'ERR_MESSAGE_TOO_BIG'
  | 'ERR_SOCKET'
  | 'ERR_TLS'
  | 'ERR_CLIENT_CERT'
  | 'ERR_UNMAPPED_SETTING'
  | 'ERR_REDIS_MISSING'
  | 'ERR_INVALID_JSON'
  | 'ERR_UNKNOWN_TYPE';

/** Details an rxws error may carry besides its message. */
export interface RxwsErrorDetails {
  /** The error that caused this one. */
  cause?: unknown;
  /** The connection this error belongs to, when it belongs to one. */
  connectionId?: string;
  /** The WebSocket close code this error closes (or closed) its connection with. */
  closeCode?: number;
  /** The HTTP status this error answered (or answers) a request with. */
  status?: number;
}

/** Base class of every runtime error rxws reports. */
export class RxwsError extends Error {
  override name = 'RxwsError';
  readonly code: RxwsErrorCode;
  readonly connectionId?: string;
  readonly closeCode?: number;
  readonly status?: number;

  constructor(code: RxwsErrorCode, message: string, details: RxwsErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.connectionId !== undefined) this.connectionId = details.connectionId;
    if (details.closeCode !== undefined) this.closeCode = details.closeCode;
    if (details.status !== undefined) this.status = details.status;
  }
}

/** An option given to `createServer()` has a wrong type or value. Thrown at once. */
export class InvalidOptionError extends TypeError {
  override name = 'InvalidOptionError';
  readonly code = 'ERR_INVALID_OPTION' as const;
  /** The option's name, as written in `ServerOptions` (nested ones dotted: `keepAlive.time`). */
  readonly option: string;

  constructor(option: string, message: string) {
    super(message);
    this.option = option;
  }
}

/** Throws the `InvalidOptionError` whose sentence names the option, what it must be, and the value. */
export function invalidOption(option: string, expected: string, value: unknown): never {
  throw new InvalidOptionError(option, `"${option}" must be ${expected}, got ${show(value)}`);
}

/** An argument of a method call has a wrong type or value. Thrown at once. */
export class InvalidArgumentError extends TypeError {
  override name = 'InvalidArgumentError';
  readonly code = 'ERR_INVALID_ARGUMENT' as const;
}

/** `listen()` failed: the address is taken (`ERR_ADDRESS_IN_USE`) or another bind error (`ERR_LISTEN`). */
export class ListenError extends RxwsError {
  override name = 'ListenError';
}

/** A connection request was refused before any byte was read (allow-list, limit or hook). */
export class ConnectionRefusedError extends RxwsError {
  override name = 'ConnectionRefusedError';
}

/** The connection failed: protocol error, invalid payload, oversize message or socket error. */
export class ConnectionError extends RxwsError {
  override name = 'ConnectionError';
}

/** A send could not be done: the connection is not open (`ERR_NOT_OPEN`) or made no progress (`ERR_TIMEOUT`). */
export class SendError extends RxwsError {
  override name = 'SendError';
}

/** A user hook (`onConnectionRequest`, `onOpenRequest`) threw or returned something unusable. */
export class HookError extends RxwsError {
  override name = 'HookError';
}

/** One setting `fromIPWorksConfig()` could not map: its name as given, and why, in one sentence. */
export interface UnmappedSetting {
  readonly name: string;
  readonly message: string;
}

/**
 * Settings given to `fromIPWorksConfig()` have no rxws option (`ERR_UNMAPPED_SETTING`). Thrown
 * once the whole configuration is read, listing every such setting, so a long configuration
 * shows all of them at once.
 */
export class UnmappedSettingError extends Error {
  override name = 'UnmappedSettingError';
  readonly code = 'ERR_UNMAPPED_SETTING' as const;
  /** Every setting that could not be mapped, in the order given. */
  readonly settings: readonly UnmappedSetting[];

  constructor(settings: readonly UnmappedSetting[]) {
    super(
      settings.length === 1
        ? settings[0].message
        : `${settings.length} IPWorks settings cannot be mapped to rxws options:\n${settings.map((s) => `- ${s.message}`).join('\n')}`,
    );
    this.settings = Object.freeze([...settings]);
  }
}

/** Shows a value in an error sentence: strings quoted, objects by kind. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}

/** Prints any thrown value for a log line. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
