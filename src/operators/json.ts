import {
  EMPTY,
  Observable,
  from,
  mergeMap,
  type ObservableInput,
  type OperatorFunction,
} from 'rxjs';
import type { Connection } from '../connection/connection';
import { ConnectionError, InvalidArgumentError, SendError, show } from '../errors';
import { CloseCode, isValidCloseCode } from '../protocol/close-codes';

/** A message parsed as JSON by `parseJson()`: the connection it came on and its value. */
export interface JsonMessage<T> {
  readonly connection: Connection;
  readonly data: T;
}

/** Options of `parseJson()`. */
export interface ParseJsonOptions<T> {
  /**
   * Checks a parsed value and gives it its type: return it (or what it becomes), or throw to
   * refuse it (the thrown error's message is the reason). A schema library's `parse` fits
   * (`validate: (v) => Schema.parse(v)`). Default: every value is accepted as `T`.
   */
  readonly validate?: (value: unknown) => T;
  /**
   * What a message that is not JSON (or that `validate` refuses) does: `'error'` (default) ends
   * the stream with a `ConnectionError` `ERR_INVALID_JSON` whose `closeCode` is `closeCode` (hand
   * it to `conn.sink.error()` to close the connection with it); `'skip'` drops the message and
   * goes on (`onInvalid` hears of it).
   */
  readonly invalid?: 'error' | 'skip';
  /** The close code the error carries. Default 1007 (invalid payload data). */
  readonly closeCode?: number;
  /** Told of each message dropped with `invalid: 'skip'`, with the error it would have been. */
  readonly onInvalid?: (error: ConnectionError) => void;
}

/** What a message must carry for `ofType()` and `routeJson()`: a string `type`. */
export interface Typed {
  readonly type: string;
}

/** A value's `type` field, read without trusting the value's shape (JSON may be `null`). */
function typeOf(value: unknown): unknown {
  return typeof value === 'object' && value !== null
    ? (value as { type?: unknown }).type
    : undefined;
}

function checkCloseCode(operator: string, code: number): void {
  if (!isValidCloseCode(code)) {
    throw new InvalidArgumentError(
      `${operator}: closeCode must be a close code a server may send, got ${show(code)}`,
    );
  }
}

/**
 * Parses each message (text, or binary as UTF-8) as JSON, checked by the user's `validate`:
 * `{ connection, data }` with `data` typed `T`. A message that is not JSON, or that `validate`
 * refuses, errors the stream with `ConnectionError` `ERR_INVALID_JSON` (close code 1007, or
 * `closeCode`), or is dropped with `invalid: 'skip'`.
 *
 * ```text
 * messages:  -a--b--x--c-|     x is not JSON
 * parseJson()
 * output:    -A--B--#          # = ERR_INVALID_JSON (closeCode 1007)
 * parseJson({ invalid: 'skip' })
 * output:    -A--B-----C-|
 * ```
 *
 * @example
 * ```ts
 * type In = { type: 'say'; text: string } | { type: 'ping' };
 * conn.messages$.pipe(parseJson<In>({ validate: checkIn })).subscribe({
 *   next: ({ data }) => console.log(data.type),
 *   error: (err) => conn.sink.error(err), // closes with 1007
 * });
 * ```
 * @throws {InvalidArgumentError} at once for an `invalid` or `closeCode` that is not valid.
 */
export function parseJson<T = unknown>(
  options: ParseJsonOptions<T> = {},
): OperatorFunction<
  { readonly connection: Connection; readonly data: string | Buffer },
  JsonMessage<T>
> {
  const invalid = options.invalid ?? 'error';
  if (invalid !== 'error' && invalid !== 'skip') {
    throw new InvalidArgumentError(
      `parseJson(): invalid must be "error" or "skip", got ${show(invalid)}`,
    );
  }
  const closeCode = options.closeCode ?? CloseCode.INVALID_PAYLOAD;
  checkCloseCode('parseJson()', closeCode);
  const validate = options.validate;
  return (source) =>
    new Observable<JsonMessage<T>>((subscriber) =>
      source.subscribe({
        next: ({ connection, data }) => {
          let value: T;
          try {
            const parsed: unknown = JSON.parse(typeof data === 'string' ? data : data.toString());
            value = validate ? validate(parsed) : (parsed as T);
          } catch (cause) {
            const error = new ConnectionError(
              'ERR_INVALID_JSON',
              `not a valid JSON message: ${(cause as Error)?.message ?? String(cause)}`,
              { closeCode, connectionId: connection.id, cause },
            );
            if (invalid === 'error') subscriber.error(error);
            else options.onInvalid?.(error);
            return;
          }
          subscriber.next({ connection, data: value });
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      }),
    );
}

/**
 * Lets through the messages whose `data.type` is one of `types`, typed accordingly (RxJS's
 * `filter`, narrowed for a union with a `type` field).
 *
 * @example
 * ```ts
 * json$.pipe(ofType('say')).subscribe(({ data }) => data.text); // data: { type: 'say'; text }
 * ```
 */
export function ofType<T extends Typed, K extends T['type']>(
  ...types: K[]
): OperatorFunction<JsonMessage<T>, JsonMessage<Extract<T, { type: K }>>> {
  const wanted = new Set<string>(types);
  return (source) =>
    new Observable((subscriber) =>
      source.subscribe({
        next: (message) => {
          if (wanted.has(typeOf(message.data) as string)) {
            subscriber.next(message as JsonMessage<Extract<T, { type: K }>>);
          }
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      }),
    );
}

/** The handlers of `routeJson()`: one per type, each given the messages of its type. */
export type JsonRoutes<T extends Typed, R> = {
  readonly [K in T['type']]?: (message: JsonMessage<Extract<T, { type: K }>>) => ObservableInput<R>;
};

/** Options of `routeJson()`. */
export interface RouteJsonOptions {
  /**
   * A message whose type has no handler: `'error'` (default) ends the stream with
   * `ConnectionError` `ERR_UNKNOWN_TYPE` (close code `closeCode`); `'skip'` drops it.
   */
  readonly unknown?: 'error' | 'skip';
  /** The close code the error carries. Default 1008 (policy violation). */
  readonly closeCode?: number;
}

/**
 * Hands each message to the handler of its `data.type` and merges what the handlers return (as
 * `mergeMap` does): a router in one operator. A type with no handler errors the stream with
 * `ConnectionError` `ERR_UNKNOWN_TYPE` (close code 1008), or is dropped with `unknown: 'skip'`.
 *
 * @example
 * ```ts
 * conn.messages$.pipe(
 *   parseJson<In>({ validate: checkIn }),
 *   routeJson<In, string>({
 *     say: ({ data }) => [JSON.stringify({ type: 'said', text: data.text })],
 *     ping: () => [JSON.stringify({ type: 'pong' })],
 *   }),
 * ).subscribe(conn.sink); // replies go out; bad input closes with 1007 or 1008
 * ```
 * @throws {InvalidArgumentError} at once for an `unknown` or `closeCode` that is not valid.
 */
export function routeJson<T extends Typed, R>(
  routes: JsonRoutes<T, R>,
  options: RouteJsonOptions = {},
): OperatorFunction<JsonMessage<T>, R> {
  const unknown = options.unknown ?? 'error';
  if (unknown !== 'error' && unknown !== 'skip') {
    throw new InvalidArgumentError(
      `routeJson(): unknown must be "error" or "skip", got ${show(unknown)}`,
    );
  }
  const closeCode = options.closeCode ?? CloseCode.POLICY_VIOLATION;
  checkCloseCode('routeJson()', closeCode);
  const table = routes as Readonly<
    Record<string, ((message: JsonMessage<T>) => ObservableInput<R>) | undefined>
  >;
  return mergeMap((message) => {
    const type = typeOf(message.data);
    const handler =
      typeof type === 'string' && Object.prototype.hasOwnProperty.call(table, type)
        ? table[type]
        : undefined;
    if (handler) return from(handler(message));
    if (unknown === 'skip') return EMPTY;
    throw new ConnectionError('ERR_UNKNOWN_TYPE', `no handler for message type ${show(type)}`, {
      closeCode,
      connectionId: message.connection.id,
    });
  });
}

/** Options of `toJson()`. */
export interface ToJsonOptions {
  /** `JSON.stringify`'s replacer (a function, or the keys to keep). Default: none. */
  readonly replacer?:
    ((this: unknown, key: string, value: unknown) => unknown) | (string | number)[];
  /** `JSON.stringify`'s indentation. Default: none (the smallest text). */
  readonly space?: string | number;
}

/**
 * Serializes each value as JSON text, for `conn.sink` (a string goes out as a text message): the
 * way out of a JSON pipeline. A value JSON cannot carry (a `BigInt`, a cycle, `undefined` or a
 * function at the top) errors the stream with `SendError` `ERR_INVALID_DATA`, close code 1011
 * (internal error: the server built it), rather than sending something the client cannot read.
 *
 * ```text
 * values:  -a--b--x--|     x = { n: 1n } (a BigInt)
 * toJson()
 * output:  -A--B--#        A = '{"type":"said",...}'; # = ERR_INVALID_DATA (closeCode 1011)
 * ```
 *
 * @example
 * ```ts
 * conn.messages$
 *   .pipe(
 *     parseJson<In>({ validate: checkIn }),
 *     routeJson<In, Out>({ say: ({ data }) => [{ type: 'said', text: data.text }] }),
 *     toJson(),
 *   )
 *   .subscribe(conn.sink);
 * ```
 * @param options `replacer` and `space`, as `JSON.stringify` takes them; default none.
 * @throws {InvalidArgumentError} at once for a `replacer` or `space` of the wrong kind.
 */
export function toJson<T>(options: ToJsonOptions = {}): OperatorFunction<T, string> {
  const { replacer, space } = options;
  if (replacer !== undefined && typeof replacer !== 'function' && !Array.isArray(replacer)) {
    throw new InvalidArgumentError(
      `toJson(): replacer must be a function or an array, got ${show(replacer)}`,
    );
  }
  if (space !== undefined && typeof space !== 'string' && typeof space !== 'number') {
    throw new InvalidArgumentError(
      `toJson(): space must be a string or a number, got ${show(space)}`,
    );
  }
  return (source) =>
    new Observable<string>((subscriber) =>
      source.subscribe({
        next: (value) => {
          let text: string | undefined;
          let cause: unknown;
          try {
            text = JSON.stringify(value, replacer as never, space);
          } catch (err) {
            cause = err;
          }
          if (text === undefined) {
            subscriber.error(
              new SendError(
                'ERR_INVALID_DATA',
                `toJson(): ${show(value)} cannot be sent as JSON${cause ? `: ${(cause as Error).message}` : ''}`,
                { closeCode: CloseCode.INTERNAL_ERROR, ...(cause ? { cause } : {}) },
              ),
            );
            return;
          }
          subscriber.next(text);
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      }),
    );
}
