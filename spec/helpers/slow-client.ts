import type { Socket } from 'node:net';
import { filter, firstValueFrom } from 'rxjs';
import type { Connection, LogEntry, RxwsError, RxwsServer, ServerOptions } from '../../src';
import { FrameReader } from './frames';
import { tcpConnect, upgradeRequest } from './raw';
import { startServer } from './server';

export const BIG = 32 * 1024 * 1024;

/**
 * A connection whose client has stopped reading, with the socket's buffers filled by one big
 * message: from then on every send waits in the connection's queue.
 */
export async function stuck(options: ServerOptions): Promise<{
  server: RxwsServer;
  conn: Connection;
  socket: Socket;
  logs: LogEntry[];
  errors: RxwsError[];
}> {
  const { server, port } = await startServer({
    outBufferSize: 1024,
    closeTimeout: 300,
    ...options,
  });
  const logs: LogEntry[] = [];
  const errors: RxwsError[] = [];
  server.logs$.subscribe((e) => logs.push(e));
  server.errors$.subscribe((e) => errors.push(e));
  const opened = firstValueFrom(server.connections$);
  const socket = await tcpConnect(port);
  socket.write(upgradeRequest('/', [], port));
  const conn = await opened;
  socket.pause();
  const blocked = firstValueFrom(conn.readyToSend$.pipe(filter((r) => !r)));
  conn.sink.next(Buffer.alloc(BIG));
  await blocked;
  return { server, conn, socket, logs, errors };
}

/** Lets the client read; resolves with the data frames it got, once it has `count` of them or a close. */
export function readAll(
  socket: Socket,
  count: number,
): Promise<Array<{ opcode: number; payload: Buffer }>> {
  return new Promise((resolve) => {
    const reader = new FrameReader();
    let handshakeSeen = false;
    let pending = Buffer.alloc(0);
    const done = (): void => {
      socket.off('data', onData);
      resolve(reader.frames);
    };
    const onData = (chunk: Buffer): void => {
      if (!handshakeSeen) {
        pending = Buffer.concat([pending, chunk]);
        const end = pending.indexOf('\r\n\r\n');
        if (end === -1) return;
        handshakeSeen = true;
        chunk = pending.subarray(end + 4);
      }
      reader.push(chunk);
      if (reader.frames.length >= count || reader.frames.some((f) => f.opcode === 0x8)) done();
    };
    socket.on('data', onData);
    socket.on('close', done);
    socket.resume();
  });
}
