/**
 * examples/metrics-prometheus.ts: its start function on port 0, a `ws` client, and the metrics
 * endpoint scraped as Prometheus would.
 */
import { firstValueFrom } from 'rxjs';
import WebSocket from 'ws';
import { start, type Started } from '../../examples/metrics-prometheus';

/** GETs `url`; resolves with the status and the body. */
async function get(url: string): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(url);
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    body: await res.text(),
  };
}

/** The samples of a Prometheus text exposition, by series (`name{labels}`). */
function samples(body: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    map.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return map;
}

/** The rxws_ series that read the server's stats (the rates depend on timing). */
function statSeries(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries(
    [...map].filter(([name]) => name.startsWith('rxws_') && !name.includes('_per_second')),
  );
}

/** What every series of the stats is with nothing refused, dropped or queued. */
const quiet = {
  rxws_connections_handshaking: 0,
  'rxws_refused_total{stage="connection"}': 0,
  'rxws_refused_total{stage="tls"}': 0,
  'rxws_refused_total{stage="handshake"}': 0,
  'rxws_refused_total{stage="open"}': 0,
  'rxws_drops_total{policy="drop-newest"}': 0,
  'rxws_drops_total{policy="drop-oldest"}': 0,
  'rxws_drops_total{policy="close"}': 0,
  'rxws_drops_total{policy="error"}': 0,
  rxws_queued_messages: 0,
  rxws_queued_bytes: 0,
  rxws_send_queue_waits_total: 0,
  'rxws_send_queue_wait_seconds{quantile="0.5"}': 0,
  'rxws_send_queue_wait_seconds{quantile="0.99"}': 0,
  'rxws_send_queue_wait_seconds{quantile="1"}': 0,
};

describe('examples/metrics-prometheus.ts', () => {
  let started: Started | undefined;
  let client: WebSocket | undefined;

  afterEach(async () => {
    client?.terminate();
    await started?.stop();
    started = client = undefined;
  });

  it('serves the server stats as Prometheus metrics on /metrics', async () => {
    started = await start({ port: 0, metricsPort: 0, intervalMs: 20 });
    const { server, url, metricsUrl } = started;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

    const ws = (client = new WebSocket(url));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send('hello');
    await new Promise((resolve) => ws.once('message', resolve));

    const scraped = await get(metricsUrl);
    expect(scraped.status).toBe(200);
    expect(scraped.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(scraped.body).toContain('# TYPE rxws_messages_in_total counter\n');
    expect(scraped.body).toContain('# TYPE rxws_connections_open gauge\n');
    expect(statSeries(samples(scraped.body))).toEqual({
      ...quiet,
      rxws_connections_open: 1,
      rxws_connections_opened_total: 1,
      rxws_connections_closed_total: 0,
      rxws_messages_in_total: 1,
      rxws_bytes_in_total: 5,
      rxws_messages_out_total: 1,
      rxws_bytes_out_total: 5,
    });

    const closed = firstValueFrom(server.disconnections$);
    ws.close();
    await closed;
    const after = samples((await get(metricsUrl)).body);
    expect(statSeries(after)).toEqual({
      ...quiet,
      rxws_connections_open: 0,
      rxws_connections_opened_total: 1,
      rxws_connections_closed_total: 1,
      rxws_messages_in_total: 1,
      rxws_bytes_in_total: 5,
      rxws_messages_out_total: 1,
      rxws_bytes_out_total: 5,
    });
    for (const name of [
      'rxws_messages_in_per_second',
      'rxws_bytes_in_per_second',
      'rxws_messages_out_per_second',
      'rxws_bytes_out_per_second',
    ]) {
      const rate = after.get(name);
      expect([name, Number.isFinite(rate) && rate! >= 0]).toEqual([name, true]);
    }
  });

  it('answers 404 elsewhere', async () => {
    started = await start({ port: 0, metricsPort: 0 });
    const other = started.metricsUrl.replace('/metrics', '/other');
    expect((await get(other)).status).toBe(404);
  });
});
