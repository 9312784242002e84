/**
 * One rxws server instance in its own process, for bench/cross-process.ts: `createServer()` on
 * 127.0.0.1 from src/, with no backplane or a `redisBackplane()` made from the JSON in
 * RXWS_XP (`{ mode: 'none' | 'pubsub' | 'streams', url, prefix, topic }`). Every connection is
 * subscribed to the topic and reported once `server.joined(topic)` has resolved. It publishes
 * when told to, each message 100 bytes of JSON stamped with `performance.timeOrigin +
 * performance.now()` (comparable across processes on one machine). IPC:
 *   in:  { cmd: 'flood', n, window } publish n as fast as allowed, at most `window` ahead of
 *        { cmd: 'acked', k } (messages every subscriber has) · { cmd: 'paced', n, rate } ·
 *        { cmd: 'clock' } · { cmd: 'cpu' } · { cmd: 'shutdown' }
 *   out: { type: 'ready', port } · { type: 'subscribed' } · { type: 'started', t0 } ·
 *        { type: 'published', t1 } · { type: 'clock', now } · { type: 'cpu', us, now }
 */
import { performance } from 'node:perf_hooks';
import { createServer } from '../../src';
import { redisBackplane } from '../../src/redis';

interface Settings {
  mode: 'none' | 'pubsub' | 'streams';
  url: string;
  prefix: string;
  topic: string;
}
type Command =
  | { cmd: 'flood'; n: number; window: number }
  | { cmd: 'acked'; k: number }
  | { cmd: 'paced'; n: number; rate: number }
  | { cmd: 'clock' | 'cpu' | 'shutdown' };

const settings = JSON.parse(process.env.RXWS_XP ?? '{}') as Settings;
const now = (): number => performance.timeOrigin + performance.now();
const send = (message: unknown): void => void process.send?.(message);
const FILLER = 'x'.repeat(57);

/** 100 bytes of JSON: the stamp at offset 5 (17 characters), the number padded to 8. */
function payload(seq: number): string {
  return `{"t":${now().toFixed(3).padStart(17)},"s":${String(seq).padStart(8)},"p":"${FILLER}"}`;
}

async function main(): Promise<void> {
  const { mode, url, prefix, topic } = settings;
  const server = createServer({
    host: '127.0.0.1',
    port: 0,
    ...(mode === 'none' ? {} : { backplane: redisBackplane({ url, prefix, mode }) }),
  });
  server.connections$.subscribe((conn) => {
    conn.subscribe(topic);
    void server.joined(topic).then(() => send({ type: 'subscribed' }));
  });
  let acked = 0;
  let wake: (() => void) | undefined;
  const publish = (seq: number): void => void server.publish(topic, payload(seq));

  async function flood(n: number, window: number): Promise<void> {
    acked = 0;
    send({ type: 'started', t0: now() });
    for (let seq = 0; seq < n;) {
      // Batches of 32, then the event loop runs (sockets written, Redis replies read).
      for (let i = 0; i < 32 && seq < n && seq - acked < window; i++) publish(seq++);
      if (seq - acked >= window) await new Promise<void>((r) => (wake = r));
      else await new Promise((r) => setImmediate(r));
    }
    send({ type: 'published', t1: now() });
  }

  async function paced(n: number, rate: number): Promise<void> {
    const t0 = now();
    send({ type: 'started', t0 });
    for (let seq = 0; seq < n;) {
      const due = Math.min(n, Math.floor(((now() - t0) * rate) / 1000) + 1);
      while (seq < due) publish(seq++);
      await new Promise((r) => setTimeout(r, 1));
    }
    send({ type: 'published', t1: now() });
  }

  process.on('message', (m: Command) => {
    if (m.cmd === 'flood') void flood(m.n, m.window);
    else if (m.cmd === 'paced') void paced(m.n, m.rate);
    else if (m.cmd === 'acked') {
      acked = Math.max(acked, m.k);
      wake?.();
      wake = undefined;
    } else if (m.cmd === 'clock') send({ type: 'clock', now: now() });
    else if (m.cmd === 'cpu') {
      const { user, system } = process.cpuUsage();
      send({ type: 'cpu', us: user + system, now: now() });
    } else if (m.cmd === 'shutdown') void server.shutdown().then(() => process.exit(0));
  });
  process.on('disconnect', () => process.exit(0));
  const { port } = await server.listen();
  send({ type: 'ready', port });
}

void main();
