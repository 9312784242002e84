/**
 * One rxws server per core, all on one port, sharing topics through Redis: a client connected to
 * any worker gets what clients of every worker publish on its topic.
 *
 *   npx tsx examples/cluster.ts                             # ws://127.0.0.1:8080/?topic=<name>
 *   PORT=9000 REDIS_URL=redis://10.0.0.5:6379 npx tsx examples/cluster.ts
 *
 * Every message a client sends (text or binary) is published on the topic named in its URL, to
 * every subscriber of that topic on every worker, the sender included. Without Redis the workers
 * still run, each delivering to its own clients only, and say so (`backplane down`); they catch
 * up by themselves when Redis comes back. Ctrl-C or SIGTERM: each worker shuts its server down
 * (clients get a 1001 close frame) and the primary exits once they all have.
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { createServer } from '../src';
import { redisBackplane } from '../src/redis';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';

if (cluster.isPrimary) {
  const count = availableParallelism();
  console.log(`primary ${process.pid}: ${count} workers on ws://${host}:${port}/?topic=<name>`);
  for (let i = 0; i < count; i++) cluster.fork();

  let stopping = false;
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    // A worker that fails at start (the port is taken) would fail again: stop them all.
    console.error(`worker ${worker.process.pid} exited (${signal ?? code}): stopping`);
    process.exitCode = 1;
    stop();
  });
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.send('shutdown');
  };
  // The process exits by itself once every worker has: nothing else keeps it alive.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} else {
  const id = `worker ${cluster.worker?.id} (${process.pid})`;
  const server = createServer({
    host,
    port,
    // rxws binds exclusively by default; cluster workers share the primary's listening socket
    // only with exclusive: false.
    exclusive: false,
    backplane: redisBackplane({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }),
    onOpenRequest: (req) =>
      topicOf(req.url) ? true : { accept: false, status: 400, reason: 'use /?topic=<name>' },
  });

  server.logs$.subscribe((entry) => {
    if (entry.type === 'backplane' || entry.type === 'gap') console.log(`${id}: ${entry.message}`);
  });

  server.connections$.subscribe((conn) => {
    const topic = topicOf(conn.request.url) as string;
    conn.subscribe(topic);
    conn.messages$.subscribe(({ data, format }) => server.publish(topic, data, { format }));
  });

  server.listen().then(
    () => console.log(`${id}: listening`),
    (error: Error) => {
      console.error(`${id}: ${error.message}`);
      process.exit(1);
    },
  );

  // The primary asks on SIGTERM; Ctrl-C in a terminal signals every worker directly too.
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void server.shutdown().then(() => cluster.worker?.disconnect());
  };
  process.on('message', (message) => message === 'shutdown' && stop());
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** The topic named in a URL's query (`/?topic=news`), if it is a valid one: 1 to 256 bytes. */
function topicOf(url: string): string | undefined {
  const topic = new URL(url, 'http://x').searchParams.get('topic');
  return topic && Buffer.byteLength(topic) <= 256 ? topic : undefined;
}
