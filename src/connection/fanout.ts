import type { Outbound } from './outbound';
import { SharedMessage } from './shared-message';

/** A connection as the fan-out sees it. */
export interface FanoutTarget {
  /** The outbound a message goes through while the connection is open; undefined otherwise. */
  readonly openOutbound: Outbound | undefined;
}

/**
 * Frame once, compress once, write to many: hands one message to each open target's outbound as
 * a `SharedMessage`, which frames it once (at the first target without an extension that takes
 * it) and compresses it once per client window size (at the first permessage-deflate target
 * whose server side uses no context takeover), so every such target is written the same bytes.
 * An outbound writes them when its socket can take them in order; otherwise it sends the
 * message like any other, under its own queue and overflow policy (queued in order, split by
 * `maxFrameSize`, compressed by `ws` for a connection with context takeover). One slow target
 * never delays the others. The seam `server.broadcast()` and topics' `server.publish()` use.
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
  let message: SharedMessage | undefined;
  let count = 0;
  for (const target of targets) {
    if (filter && !filter(target)) continue;
    const outbound = target.openOutbound;
    if (!outbound) continue;
    message ??= new SharedMessage(
      payload,
      binary,
      typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length,
    );
    outbound.sendShared(message);
    count++;
  }
  return count;
}
