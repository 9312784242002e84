/**
 * An echo server whose figures Prometheus scrapes: `server.stats` read at each scrape (counters
 * and gauges, exact as of the scrape) and `server.metrics$()` feeding the per-second rates of
 * its last interval, served with prom-client (`npm install prom-client`) on a loopback port.
 *
 *   npx tsx examples/metrics-prometheus.ts
 *   # ws://127.0.0.1:8080, metrics on http://127.0.0.1:9464/metrics
 *   # PORT, HOST and METRICS_PORT change them
 *
 *   curl -s http://127.0.0.1:9464/metrics | grep ^rxws_
 *
 * Ctrl-C shuts it down gracefully.
 */
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import { createServer, type RxwsServer, type ServerMetrics, type ServerStats } from '../src';

/** What the metrics read of a server (of any connection data type). */
type Measured = Pick<RxwsServer, 'stats' | 'metrics$'>;

/**
 * Registers the server's metrics in `registry`: what `server.stats` has, read at each scrape,
 * and the rates of `server.metrics$(intervalMs)`, updated at each of its emissions (Prometheus'
 * own `rate()` over the counters does the same over any window). Ends with the server.
 */
export function registerRxwsMetrics(server: Measured, registry: Registry, intervalMs = 1000): void {
  const registers = [registry];
  // One snapshot per scrape: prom-client collects every metric in the same tick.
  let taken: ServerStats | undefined;
  const stats = (): ServerStats => {
    if (!taken) {
      taken = server.stats;
      queueMicrotask(() => (taken = undefined));
    }
    return taken;
  };
  /** A counter set from a running total at each scrape (prom-client counters only go up). */
  const total = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: (stats: ServerStats) => Array<[Partial<Record<L, string>>, number]>,
  ): void => {
    new Counter<L>({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const [labels, value] of read(stats())) this.inc(labels, value);
      },
    });
  };
  const gauge = (name: string, help: string, read: (s: ServerStats) => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(stats()));
      },
    });
  };

  gauge('rxws_connections_open', 'Connections open now.', (s) => s.connections.open);
  gauge(
    'rxws_connections_handshaking',
    'Sockets on the accept path now (accepted, not yet open nor refused).',
    (s) => s.connections.handshaking,
  );
  total('rxws_connections_opened_total', 'Connections opened.', [], (s) => [
    [{}, s.connections.opened],
  ]);
  total('rxws_connections_closed_total', 'Connections closed.', [], (s) => [
    [{}, s.connections.closed],
  ]);
  total('rxws_refused_total', 'Requests refused on the accept path, by stage.', ['stage'], (s) =>
    Object.entries(s.refused).map(([stage, n]) => [{ stage }, n]),
  );
  total('rxws_messages_in_total', 'Whole messages received.', [], (s) => [[{}, s.messagesIn]]);
  total('rxws_bytes_in_total', 'Payload bytes received.', [], (s) => [[{}, s.bytesIn]]);
  total('rxws_messages_out_total', 'Messages handed to sockets.', [], (s) => [[{}, s.messagesOut]]);
  total('rxws_bytes_out_total', 'Payload bytes handed to sockets.', [], (s) => [[{}, s.bytesOut]]);
  total('rxws_drops_total', 'Sends dropped or refused by the overflow policy.', ['policy'], (s) =>
    Object.entries(s.drops).map(([policy, n]) => [{ policy }, n]),
  );
  gauge('rxws_queued_messages', 'Sends waiting in send queues now.', (s) => s.queuedMessages);
  gauge('rxws_queued_bytes', 'Payload bytes waiting in send queues now.', (s) => s.queuedBytes);
  total('rxws_send_queue_waits_total', 'Sends that waited in a send queue.', [], (s) => [
    [{}, s.sendQueueWait.count],
  ]);
  new Gauge({
    name: 'rxws_send_queue_wait_seconds',
    help: 'How long queued sends waited before reaching the socket: p50, p99 and max (quantile 1).',
    labelNames: ['quantile'] as const,
    registers,
    collect() {
      const { p50, p99, max } = stats().sendQueueWait;
      this.set({ quantile: '0.5' }, p50 / 1000);
      this.set({ quantile: '0.99' }, p99 / 1000);
      this.set({ quantile: '1' }, max / 1000);
    },
  });

  const over = `per second over the last ${intervalMs} ms`;
  const rates: Array<[keyof ServerMetrics['interval'], Gauge]> = [
    [
      'messagesInPerSec',
      new Gauge({
        name: 'rxws_messages_in_per_second',
        help: `Messages received ${over}.`,
        registers,
      }),
    ],
    [
      'bytesInPerSec',
      new Gauge({ name: 'rxws_bytes_in_per_second', help: `Bytes received ${over}.`, registers }),
    ],
    [
      'messagesOutPerSec',
      new Gauge({
        name: 'rxws_messages_out_per_second',
        help: `Messages sent ${over}.`,
        registers,
      }),
    ],
    [
      'bytesOutPerSec',
      new Gauge({ name: 'rxws_bytes_out_per_second', help: `Bytes sent ${over}.`, registers }),
    ],
  ];
  server.metrics$(intervalMs).subscribe(({ interval }) => {
    for (const [key, g] of rates) g.set(interval[key]);
  });
}

/** Where `start()` listens, and how to stop it. */
export interface Started {
  readonly server: RxwsServer;
  /** `ws://host:port` of the echo server. */
  readonly url: string;
  /** `http://host:port/metrics`. */
  readonly metricsUrl: string;
  /** Shuts the server down and closes the metrics port. */
  stop(): Promise<void>;
}

/**
 * Starts the echo server and the metrics endpoint (`GET /metrics`; anything else is 404), both
 * on `host` (a loopback address by default: expose metrics deliberately). Port 0 picks one.
 */
export async function start(
  options: { host?: string; port?: number; metricsPort?: number; intervalMs?: number } = {},
): Promise<Started> {
  const { host = '127.0.0.1', port = 8080, metricsPort = 9464, intervalMs = 1000 } = options;
  const server = createServer({ host, port });
  server.connections$.subscribe((conn) => {
    conn.messages$.subscribe((msg) => conn.sink.next(msg.data));
  });

  const registry = new Registry();
  registerRxwsMetrics(server, registry, intervalMs);
  const http = createHttpServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(metricsPort, host, () => resolve());
  });
  let address;
  try {
    address = await server.listen();
  } catch (err) {
    http.close();
    throw err;
  }
  const shown = (h: string) => (h.includes(':') ? `[${h}]` : h);
  const metricsAt = http.address() as AddressInfo;
  return {
    server,
    url: `ws://${shown(address.address)}:${address.port}`,
    metricsUrl: `http://${shown(metricsAt.address)}:${metricsAt.port}/metrics`,
    async stop() {
      await server.shutdown();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

if (require.main === module) {
  start({
    host: process.env.HOST,
    port: process.env.PORT === undefined ? undefined : Number(process.env.PORT),
    metricsPort:
      process.env.METRICS_PORT === undefined ? undefined : Number(process.env.METRICS_PORT),
  }).then(
    (started) => {
      console.log(`echo server on ${started.url}, metrics on ${started.metricsUrl}`);
      let stopping = false;
      const stop = (): void => {
        if (stopping) return;
        stopping = true;
        void started.stop().then(() => console.log('bye'));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
    (error: Error) => {
      console.error(error.message);
      process.exitCode = 1;
    },
  );
}
