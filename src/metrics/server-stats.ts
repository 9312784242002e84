/**
 * The server-level figures (`server.stats`, `server.metrics$()`): what they are, and the running
 * totals they are made from. Pure: it reads connections' `stats`, it never touches a socket.
 */
import type { ConnectionStats } from '../connection/types';
import type { RefusalCounts, RefusalStage } from '../logs';
import type { OverflowPolicy } from '../util/hold-queue';
import { LatencyHistogram, type LatencySummary } from '../util/histogram';

/** Connections by where they stand (`server.stats.connections`). */
export interface ConnectionCounts {
  /** Open now (`server.connections.size`). */
  readonly open: number;
  /** Opened since the server was made (`open` + `closed`). */
  readonly opened: number;
  /** Closed since the server was made. */
  readonly closed: number;
  /** Sockets on the accept path now: accepted, not yet open nor refused. */
  readonly handshaking: number;
}

/**
 * The server's figures as of now (`server.stats`): a plain frozen object. Totals run from when
 * the server was made and include closed connections; "now" figures are over open ones.
 */
export interface ServerStats {
  readonly connections: ConnectionCounts;
  /**
   * Requests refused or rejected at each stage of the accept path (the `stage` of `refused` log
   * entries), counted whatever `logLevel` is and whether `logs$` has subscribers.
   */
  readonly refused: Readonly<Record<RefusalStage, number>>;
  /** Whole messages and their payload bytes received. */
  readonly messagesIn: number;
  readonly bytesIn: number;
  /** Messages and payload bytes handed to sockets. */
  readonly messagesOut: number;
  readonly bytesOut: number;
  /** Sends waiting in the send queues of open connections now, and their payload bytes. */
  readonly queuedMessages: number;
  readonly queuedBytes: number;
  /** Sends dropped or refused by the overflow policy, by policy. */
  readonly drops: Readonly<Record<OverflowPolicy, number>>;
  /**
   * How long sends waited in a connection's send queue before reaching the socket, in ms, over
   * all connections since the server was made. Only sends that had to wait are counted (a send
   * written at once is not), and not those dropped, withdrawn or failed while queued.
   */
  readonly sendQueueWait: LatencySummary;
}

/** Traffic per second between two emissions of `server.metrics$()`. */
export interface TrafficRates {
  readonly messagesInPerSec: number;
  readonly bytesInPerSec: number;
  readonly messagesOutPerSec: number;
  readonly bytesOutPerSec: number;
}

/** One emission of `server.metrics$()`: the stats, when they were taken, the rates since the last. */
export interface ServerMetrics extends ServerStats {
  /** When this was taken: `Date.now()`. */
  readonly at: number;
  /** Since the previous emission (the subscription, for the first). */
  readonly interval: TrafficRates;
}

/** What a snapshot reads of an open connection. */
export interface HasStats {
  readonly stats: ConnectionStats;
}

/**
 * The running totals of one server: closed connections' traffic (added once, as each closes),
 * refusals by stage (counted by the server's `Logger`) and the send-queue wait histogram (fed by
 * each connection's send queue). Open connections are summed when a snapshot is taken, so
 * nothing here runs per message.
 */
export class ServerCounters {
  /** Given to the server's `Logger`, which counts every `refused` entry into it. */
  readonly refused: RefusalCounts = { connection: 0, tls: 0, handshake: 0, open: 0 };
  /** Given to every connection (its context), which records each queued send as it leaves. */
  readonly sendQueueWait = new LatencyHistogram();
  private closed = 0;
  private messagesIn = 0;
  private bytesIn = 0;
  private messagesOut = 0;
  private bytesOut = 0;
  private readonly drops: Record<OverflowPolicy, number> = {
    'drop-newest': 0,
    'drop-oldest': 0,
    close: 0,
    error: 0,
  };

  /** A connection has closed: its final figures join the totals (and it leaves the open ones). */
  connectionClosed(stats: ConnectionStats): void {
    this.closed++;
    this.messagesIn += stats.messagesIn;
    this.bytesIn += stats.bytesIn;
    this.messagesOut += stats.messagesOut;
    this.bytesOut += stats.bytesOut;
    const drops = this.drops;
    drops['drop-newest'] += stats.drops['drop-newest'];
    drops['drop-oldest'] += stats.drops['drop-oldest'];
    drops.close += stats.drops.close;
    drops.error += stats.drops.error;
  }

  /**
   * The figures as of now: the totals of closed connections plus those of `open` (every open
   * connection, each exactly once: none of them may have been given to `connectionClosed()`),
   * with `handshaking` sockets on the accept path.
   */
  snapshot(open: Iterable<HasStats>, handshaking: number): ServerStats {
    let openCount = 0;
    let messagesIn = this.messagesIn;
    let bytesIn = this.bytesIn;
    let messagesOut = this.messagesOut;
    let bytesOut = this.bytesOut;
    let queuedMessages = 0;
    let queuedBytes = 0;
    const drops = { ...this.drops };
    for (const connection of open) {
      const s = connection.stats;
      openCount++;
      messagesIn += s.messagesIn;
      bytesIn += s.bytesIn;
      messagesOut += s.messagesOut;
      bytesOut += s.bytesOut;
      queuedMessages += s.queuedMessages;
      queuedBytes += s.queuedBytes;
      drops['drop-newest'] += s.drops['drop-newest'];
      drops['drop-oldest'] += s.drops['drop-oldest'];
      drops.close += s.drops.close;
      drops.error += s.drops.error;
    }
    return Object.freeze({
      connections: Object.freeze({
        open: openCount,
        opened: openCount + this.closed,
        closed: this.closed,
        handshaking,
      }),
      refused: Object.freeze({ ...this.refused }),
      messagesIn,
      bytesIn,
      messagesOut,
      bytesOut,
      queuedMessages,
      queuedBytes,
      drops: Object.freeze(drops),
      sendQueueWait: this.sendQueueWait.summary(),
    });
  }
}

/** Traffic per second from `previous` to `current`, `ms` apart (all 0 when `ms` is not > 0). */
export function trafficRates(
  previous: ServerStats,
  current: ServerStats,
  ms: number,
): TrafficRates {
  const per = (a: number, b: number): number => (ms > 0 ? ((b - a) * 1000) / ms : 0);
  return Object.freeze({
    messagesInPerSec: per(previous.messagesIn, current.messagesIn),
    bytesInPerSec: per(previous.bytesIn, current.bytesIn),
    messagesOutPerSec: per(previous.messagesOut, current.messagesOut),
    bytesOutPerSec: per(previous.bytesOut, current.bytesOut),
  });
}
