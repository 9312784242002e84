/**
 * A chat room: one page (index.html) served over plain HTTP, and the WebSocket at /chat on the
 * same port (rxws attached to the `node:http` server). Each room is a topic, `room:<name>`.
 *
 *   npx tsx examples/chat/server.ts               # http://127.0.0.1:8080/, rooms in this process
 *
 * Two instances on two ports sharing their rooms through Redis (open one page on each, join the
 * same room):
 *
 *   REDIS_URL=redis://127.0.0.1:6379 PORT=8081 npx tsx examples/chat/server.ts
 *   REDIS_URL=redis://127.0.0.1:6379 PORT=8082 npx tsx examples/chat/server.ts
 *
 * Environment: PORT (default 8080; 0 picks a free one), HOST (default 127.0.0.1), REDIS_URL
 * (unset: no Redis, the in-memory backplane), CHAT_REDIS_PREFIX (default 'rxws-chat:').
 * On start it prints `chat: http://<host>:<port>/`. SIGTERM or Ctrl-C: every client gets a 1001
 * close frame, the others in its rooms a `left` notice, and the process exits.
 *
 * Protocol. Connect to `/chat?room=<room>&name=<name>`: both 1 to 32 letters, digits, `_` or
 * `-` (else the upgrade is refused with 400 and the reason as its body). Then:
 *   client -> server   { "type": "say", "text": "..." }        text: 1 to 500 characters
 *   server -> client   { "type": "said", room, name, text, at }  (at: ms since the epoch)
 *                      { "type": "joined" | "left", room, name, at }
 *                      { "type": "error", "error": "..." }       to the sender only
 * A text that is empty or too long is answered with an `error` message and the connection
 * stays open (a user's mistake). Anything that is not that JSON closes the connection with 1007,
 * binary with 1003, and a message over 4 KiB with 1009 (a client's bug: no point answering).
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { join } from 'node:path';
import { createServer, CloseCode, type Connection } from '../../src';
import { redisBackplane } from '../../src/redis';

const MAX_TEXT = 500;
const NAME = /^[A-Za-z0-9_-]{1,32}$/;

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const redisUrl = process.env.REDIS_URL;
const page = readFileSync(join(__dirname, 'index.html'));

const http = createHttpServer((req, res) => {
  if (req.method === 'GET' && (req.url === '/' || req.url === '/index.html')) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(page);
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }
});

/** The room and name a client asks for in its URL, or why they are not valid. */
function parseJoin(url: string): { room: string; name: string } | string {
  const query = new URL(url, 'http://x').searchParams;
  const room = query.get('room') ?? '';
  const name = query.get('name') ?? '';
  if (!NAME.test(room)) return 'room must be 1 to 32 letters, digits, _ or -';
  if (!NAME.test(name)) return 'name must be 1 to 32 letters, digits, _ or -';
  return { room, name };
}

const server = createServer({
  server: http,
  path: '/chat',
  host,
  port,
  maxPayload: 4096,
  backplane: redisUrl
    ? redisBackplane({ url: redisUrl, prefix: process.env.CHAT_REDIS_PREFIX ?? 'rxws-chat:' })
    : undefined,
  onOpenRequest: (req) => {
    const join = parseJoin(req.url);
    return typeof join === 'string' ? { accept: false, status: 400, reason: join } : true;
  },
});

server.logs$.subscribe((entry) => {
  if (['backplane', 'gap', 'refused', 'error'].includes(entry.type)) {
    console.log(`[${entry.type}] ${entry.message}`);
  }
});

server.connections$.subscribe((conn) => {
  const { room, name } = parseJoin(conn.request.url) as { room: string; name: string };
  const topic = `room:${room}`;
  const announce = (type: string, fields: object = {}): number =>
    server.publish(topic, JSON.stringify({ type, room, name, ...fields, at: Date.now() }));

  conn.subscribe(topic);
  // Announced once the room's messages from every instance reach this one (with Redis, when
  // Redis has the subscription): a user who sees "joined" misses nothing said after.
  void server.joined(topic).then(() => announce('joined'));
  conn.closed$.subscribe(() => announce('left'));

  conn.messages$.subscribe(({ data }) => {
    if (typeof data !== 'string') {
      void conn.disconnect(CloseCode.UNSUPPORTED_DATA, 'text messages only');
      return;
    }
    const text = sayText(data);
    if (text === undefined) {
      void conn.disconnect(CloseCode.INVALID_PAYLOAD, 'expected {"type":"say","text":"..."}');
    } else if (text.trim() === '' || [...text].length > MAX_TEXT) {
      reply(conn, { type: 'error', error: `text must be 1 to ${MAX_TEXT} characters` });
    } else {
      announce('said', { text });
    }
  });
});

/** The text of a `say` message, or undefined for anything else. */
function sayText(json: string): string | undefined {
  try {
    const message = JSON.parse(json) as { type?: unknown; text?: unknown } | null;
    if (message?.type === 'say' && typeof message.text === 'string') return message.text;
  } catch {
    // not JSON: undefined below
  }
  return undefined;
}

function reply(conn: Connection, message: object): void {
  // A send that fails (the client is gone) is reported on errors$: nothing more to do here.
  conn.send(JSON.stringify(message)).catch(() => undefined);
}

server.listen().then(
  ({ port: actual }) => console.log(`chat: http://${host}:${actual}/`),
  (error: Error) => {
    console.error(error.message);
    process.exit(1);
  },
);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  // rxws leaves an attached server listening: closing it (and its idle keep-alive sockets,
  // which would hold the process open) is ours to do.
  void server.shutdown().then(() => {
    http.close();
    http.closeAllConnections();
  });
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
