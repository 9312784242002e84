/**
 * Saves each binary message a client sends to a file, as it arrives, without ever holding a
 * whole upload in memory; logs progress. Run: `npx tsx examples/upload.ts` (PORT, HOST, DIR),
 * then send a file, for example with `ws` from another shell:
 *
 *   node -e "const W=require('ws');const w=new W('ws://127.0.0.1:8080');
 *     w.on('open',()=>{w.send(require('fs').readFileSync(process.argv[1]));w.close()})" big.bin
 *
 * Files are written to DIR, by default `rxws-uploads` in the system's temporary folder
 * (`os.tmpdir()`, /tmp on Linux), never into the working tree. Ctrl-C (SIGINT) or SIGTERM shuts
 * the server down gracefully: every client receives a 1001 close frame.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from '../src';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const dir = process.env.DIR ?? join(tmpdir(), 'rxws-uploads');
mkdirSync(dir, { recursive: true });

// bufferMessage: false — nothing reassembles messages, so an upload of any size streams through.
const server = createServer({ port, host, bufferMessage: false });

server.connections$.subscribe((conn) => {
  let file: WriteStream | undefined;
  let received = 0;
  let count = 0;
  conn.fragments$.subscribe((piece) => {
    if (piece.format !== 'binary') return;
    if (!file) {
      const path = join(dir, `${conn.id}-${++count}.bin`);
      file = createWriteStream(path);
      received = 0;
      console.log(`connection ${conn.id}: upload to ${path}`);
    }
    received += piece.data.length;
    // Backpressure: stop reading the socket while the disk is behind.
    if (!file.write(piece.data)) {
      conn.pause();
      file.once('drain', () => conn.resume());
    }
    if (piece.eom) {
      const done = file;
      file = undefined;
      done.end(() => console.log(`connection ${conn.id}: saved ${received} bytes`));
    } else if (received % (16 * 1024 * 1024) < piece.data.length) {
      console.log(`connection ${conn.id}: ${(received / 1024 / 1024).toFixed(0)} MiB so far`);
    }
  });
  conn.closed$.subscribe(() => file?.destroy());
});

server.listen().then(
  ({ port: actual }) => console.log(`upload server on ws://${host}:${actual}, saving to ${dir}`),
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
