/**
 * A backpressure policy, written to be tested: a price feed that always sends the latest price
 * and never builds a backlog, so a client that reads slowly skips prices instead of falling
 * behind. Tested in spec/examples/testing-guide.spec.ts with a client that stops reading.
 */
import { map, type Observable, type Subscription } from 'rxjs';
import { followReadyToSend, type Connection } from '../../src';

export interface Price {
  readonly symbol: string;
  readonly price: number;
}

/** Streams `prices$` to `conn`: while it cannot take more, only the newest price waits. */
export function priceFeed(conn: Connection, prices$: Observable<Price>): Subscription {
  return prices$
    .pipe(
      map((p) => JSON.stringify(p)),
      followReadyToSend(conn, { maxQueue: { messages: 1 }, overflow: 'drop-oldest' }),
    )
    .subscribe(conn.sink);
}
