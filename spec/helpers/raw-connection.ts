import { firstValueFrom } from 'rxjs';
import type { Connection, RxwsError, RxwsServer, ServerOptions } from '../../src';
import { RawClient } from './raw';
import { startServer } from './server';

/**
 * A server (closeTimeout 200 ms, so a close the server starts does not wait long for a raw
 * client that never answers it) with one raw client connected; the server's errors are collected.
 */
export async function rawConnection(
  options: ServerOptions = {},
): Promise<{ server: RxwsServer; conn: Connection; client: RawClient; errors: RxwsError[] }> {
  const { server, port } = await startServer({ closeTimeout: 200, ...options });
  const errors: RxwsError[] = [];
  server.errors$.subscribe((e) => errors.push(e));
  const opened = firstValueFrom(server.connections$);
  const client = await RawClient.open(port);
  return { server, conn: await opened, client, errors };
}
