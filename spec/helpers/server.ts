import WebSocket from 'ws';
import { createServer, type RxwsServer, type ServerOptions } from '../../src';
import { destroyTcpSockets } from './raw';

const running = new Set<RxwsServer>();
const clients = new Set<WebSocket>();

/** Creates and starts a server on 127.0.0.1 and an ephemeral port; closed after each test. */
export async function startServer(
  options: ServerOptions = {},
): Promise<{ server: RxwsServer; port: number; url: string }> {
  const server = createServer({ host: '127.0.0.1', port: 0, ...options });
  running.add(server);
  const { port } = await server.listen();
  return { server, port, url: `ws://127.0.0.1:${port}` };
}

/** Opens a `ws` client; resolves once open. */
export function openClient(
  url: string,
  protocols?: string | string[],
  options?: WebSocket.ClientOptions,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, options);
    clients.add(ws);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('close', () => clients.delete(ws));
  });
}

/** The next message a `ws` client receives, with its binary flag. */
export function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) =>
    ws.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary })),
  );
}

/** The close code and reason a `ws` client sees. */
export function clientClosed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) throw new Error('already closed');
    ws.once('close', (code: number, reason: Buffer) =>
      resolve({ code, reason: reason.toString() }),
    );
  });
}

/** Shuts down every server and client (`ws` and raw) a test opened. */
export async function cleanup(): Promise<void> {
  for (const ws of clients) ws.terminate();
  clients.clear();
  destroyTcpSockets();
  await Promise.all([...running].map((s) => s.shutdown({ code: 1001 })));
  running.clear();
}
