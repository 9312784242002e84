import * as zlib from 'node:zlib';

/** Node's native zlib handle, as every zlib stream holds it (`stream._handle`). */
interface ZlibHandle {
  write(flush: number, input: Buffer, inOff: number, inLen: number, ...rest: unknown[]): unknown;
  writeSync(
    flush: number,
    input: Buffer,
    inOff: number,
    inLen: number,
    ...rest: unknown[]
  ): unknown;
}

/** A count of raw DEFLATE compressions, from `countDeflates()` until `restore()`. */
export interface DeflateCount {
  /** Messages (input chunks) given to a raw deflate so far. */
  readonly count: number;
  restore(): void;
}

/**
 * Counts every raw DEFLATE compression in this process, at the boundary of Node's zlib binding:
 * each call that hands a `DeflateRaw`'s native handle the start of an input chunk (`write()` or
 * `writeSync()` with input from offset 0; zlib's own continuations of a chunk start further on,
 * and a flush has no input). That is one per message whichever way it is compressed:
 * `deflateRawSync()`, `deflateRaw()`, or a `createDeflateRaw()` stream such as `ws`'s
 * per-connection compressor (one `write()` of the message, then an empty flush). Inflates and
 * non-raw deflates are not counted. Reads Node internals (the handle's prototype and the symbol
 * linking it to its stream), and throws at once if they are not there.
 */
export function countDeflates(): DeflateCount {
  const probe = zlib.createDeflateRaw();
  const handle = (probe as unknown as { _handle?: ZlibHandle })._handle;
  const owner =
    handle &&
    Object.getOwnPropertySymbols(handle).find(
      (key) => (handle as unknown as Record<symbol, unknown>)[key] === probe,
    );
  probe.close();
  if (!handle || !owner) throw new Error('countDeflates: Node zlib internals not found');
  const proto = Object.getPrototypeOf(handle) as ZlibHandle;
  const originals = { write: proto.write, writeSync: proto.writeSync };
  let count = 0;
  for (const name of ['write', 'writeSync'] as const) {
    const original = originals[name];
    proto[name] = function (this: ZlibHandle, flush, input, inOff, inLen, ...rest) {
      const stream = (this as unknown as Record<symbol, unknown>)[owner];
      if (stream instanceof zlib.DeflateRaw && inOff === 0 && inLen > 0) count++;
      return original.call(this, flush, input, inOff, inLen, ...rest);
    };
  }
  return {
    get count() {
      return count;
    },
    restore() {
      proto.write = originals.write;
      proto.writeSync = originals.writeSync;
    },
  };
}
