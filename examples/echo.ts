/**
 * An echo server: every message comes back to its sender, text as text and binary as binary.
 *
 *   npm start                       # ws://127.0.0.1:8080
 *   PORT=9000 HOST=::1 npm start    # ws://[::1]:9000
 *
 * Ctrl-C shuts it down gracefully: every client receives a 1001 close frame.
 */
import { createServer } from '../src';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';

const server = createServer({ host, port });

server.logs$.subscribe((entry) => console.log(`[${entry.type}] ${entry.message}`));
server.errors$.subscribe((error) => console.error(`[${error.code}] ${error.message}`));

server.connections$.subscribe((conn) => {
  conn.messages$.subscribe((msg) => conn.sink.next(msg.data));
});

server.listen().then(
  ({ address, family, port: actual }) => {
    const shown = family === 'IPv6' ? `[${address}]` : address;
    console.log(`echo server listening on ws://${shown}:${actual}`);
  },
  (error: Error) => {
    console.error(error.message);
    process.exitCode = 1;
  },
);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  console.log('shutting down...');
  server.shutdown().then(() => console.log('bye'));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
