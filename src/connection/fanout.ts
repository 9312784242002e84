import { Opcode, encodeFrame } from '../protocol/frame';
import type { Outbound } from './outbound';

/** A connection as the fan-out sees it. */
export interface FanoutTarget {
  /** The outbound a message goes through while the connection is open; undefined otherwise. */
  readonly openOutbound: Outbound | undefined;
}

/**
 * Frame once, write to many: encodes one message as a frame once, at the first target that
 * takes it, and hands the same bytes to each open target's outbound. An outbound writes them as
 * they are when its socket can take them now and nothing waits ahead; otherwise it sends the
 * message like any other, under its own queue and overflow policy (queued in order, split by
 * `maxFrameSize`, compressed by permessage-deflate). One slow target never delays the others.
 * The seam `server.broadcast()` and topics' `server.publish()` use.
 *
 * @param payload the message, as `normalize()` gives it (a string is text encoded into the frame).
 * @param filter which targets get it; default: all of them.
 * @returns how many targets it was handed to (open ones the filter accepts).
 */
export function fanout<T extends FanoutTarget>(
  payload: Buffer | string,
  binary: boolean,
  targets: Iterable<T>,
  filter?: (target: T) => boolean,
): number {
  const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  let frame: Buffer | [Buffer, Buffer] | undefined;
  let count = 0;
  for (const target of targets) {
    if (filter && !filter(target)) continue;
    const outbound = target.openOutbound;
    if (!outbound) continue;
    frame ??= encodeFrame(binary ? Opcode.BINARY : Opcode.TEXT, payload, true, bytes);
    outbound.sendEncoded(frame, payload, binary, bytes);
    count++;
  }
  return count;
}
