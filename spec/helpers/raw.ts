import { connect, type Socket } from 'node:net';
import { parseFrames, type ParsedFrame } from './frames';

/** Sockets opened by `tcpConnect()` and not closed yet. */
const sockets = new Set<Socket>();

/** Opens a TCP connection; resolves once connected. */
export function tcpConnect(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host });
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * Destroys every socket `tcpConnect()` opened that is still open (the cleanup after each test):
 * a raw client never answers the server's close frame, so a server shut down while one is
 * connected would wait its whole closeTimeout for it.
 */
export function destroyTcpSockets(): void {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
}

/** What a raw HTTP exchange produced: everything the server wrote until it closed. */
export interface RawResponse {
  text: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends raw request text and collects the whole response, until the server closes. */
export async function rawHttp(
  port: number,
  request: string,
  host = '127.0.0.1',
): Promise<RawResponse> {
  const socket = await tcpConnect(port, host);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(parseResponse(Buffer.concat(chunks).toString('latin1'))));
    socket.write(request);
  });
}

/** Parses an HTTP/1.1 response head and body. */
export function parseResponse(text: string): RawResponse {
  const end = text.indexOf('\r\n\r\n');
  const head = end === -1 ? text : text.slice(0, end);
  const [statusLine, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return {
    text,
    status: Number(statusLine.split(' ')[1]),
    headers,
    body: end === -1 ? '' : text.slice(end + 4),
  };
}

/** A valid upgrade request for `path`, with extra header lines. */
export function upgradeRequest(path = '/', extra: string[] = [], port = 0): string {
  return [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    ...extra,
    '',
    '',
  ].join('\r\n');
}

/** A raw WebSocket client: hand-made frames out, parsed frames in. */
export class RawClient {
  private buffer = Buffer.alloc(0);
  private readonly frames: ParsedFrame[] = [];
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      const { frames, rest } = parseFrames(Buffer.concat([this.buffer, chunk]));
      this.buffer = Buffer.from(rest);
      this.frames.push(...frames);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  /** Connects and completes the opening handshake; fails unless the answer is 101. */
  static async open(port: number, path = '/', extra: string[] = []): Promise<RawClient> {
    const socket = await tcpConnect(port);
    const { head, rest } = await handshake(socket, port, path, extra);
    if (head.split(' ')[1] !== '101') throw new Error(`handshake answered ${head}`);
    if (rest.length > 0) socket.unshift(rest);
    return new RawClient(socket);
  }

  write(data: Buffer): void {
    this.socket.write(data);
  }

  /** Resolves with the next frame the server sends, or null if the socket closes first. */
  async nextFrame(): Promise<ParsedFrame | null> {
    while (this.frames.length === 0) {
      if (this.closed) return null;
      await new Promise<void>((r) => this.waiters.push(r));
    }
    return this.frames.shift() ?? null;
  }

  /** Resolves when the server has closed the TCP connection. */
  async whenClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => this.waiters.push(r));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/**
 * Sends an upgrade request on `socket` and reads the answer's head: its text (status line and
 * headers) and the bytes that came after it.
 */
export function handshake(
  socket: Socket,
  port: number,
  path = '/',
  extra: string[] = [],
): Promise<{ head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let acc = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      acc = Buffer.concat([acc, chunk]);
      const end = acc.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      resolve({ head: acc.subarray(0, end).toString('latin1'), rest: acc.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(upgradeRequest(path, extra, port));
  });
}

/**
 * Connects (from `localAddress`, when given), sends an upgrade request and resolves with the
 * number of bytes received until the server closes: 0 for a socket refused at the connection
 * stage.
 */
export function bytesUntilClosed(
  port: number,
  host = '127.0.0.1',
  localAddress?: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host, ...(localAddress ? { localAddress } : {}) });
    let received = 0;
    socket.on('connect', () => socket.write(upgradeRequest('/', [], port)));
    socket.on('data', (c: Buffer) => (received += c.length));
    socket.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNRESET' ? undefined : reject(err),
    );
    socket.on('close', () => resolve(received));
  });
}
