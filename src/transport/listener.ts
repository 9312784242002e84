import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
} from 'node:http';
import {
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { ListenError, type RxwsError } from '../errors';
import { buildHttpResponse, writeHttpResponseAndClose } from '../handshake/http-response';
import { displayAddress } from './address';
import type { StageChain } from './stage-chain';

/** Where the server listens, as `listen()` resolves it. */
export interface ListenAddress {
  readonly address: string;
  readonly family: 'IPv4' | 'IPv6';
  readonly port: number;
}

/** The options the listener reads. */
export interface ListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly backlog: number;
  readonly exclusive: boolean;
  readonly inBufferSize: number;
  readonly server: HttpServer | undefined;
  readonly path: string | undefined;
}

/**
 * The front door: the listening socket, and the HTTP server that parses what arrives before the
 * upgrade. It owns what is plain HTTP (426 to a request that is not an upgrade, 404 to an
 * upgrade of another path, 400/431 to what HTTP cannot parse) and feeds the stage chain:
 *
 * - bind mode (rxws's own server): every TCP socket enters the chain at `accept`, paused until
 *   the connection stage has accepted it, then goes to HTTP; its upgrade request goes on to the
 *   chain's handshake;
 * - attach mode (`server` option): the user's server accepted the socket and parsed the request;
 *   an upgrade of `path` enters the chain at its `upgrade` event (connection stage, then
 *   handshake). Upgrades of other paths are left to other handlers.
 */
export class Listener {
  readonly httpServer: HttpServer;
  /** True when the HTTP server is the user's (attach mode). */
  readonly external: boolean;
  private netServer: NetServer | undefined;

  constructor(
    private readonly options: ListenerOptions,
    private readonly chain: StageChain,
    private readonly reportError: (error: RxwsError) => void,
  ) {
    if (options.server) {
      this.external = true;
      this.httpServer = options.server;
      return;
    }
    this.external = false;
    this.httpServer = createHttpServer();
    this.httpServer.on('request', (_req, res) => {
      // RFC 7231 section 6.5.15: a plain request to a WebSocket endpoint asks for the upgrade.
      const body = 'Upgrade Required';
      res.writeHead(426, {
        Upgrade: 'websocket',
        Connection: 'close',
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
      });
      res.end(body);
    });
    this.httpServer.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      if (!this.pathMatches(req)) {
        this.reject(socket, 404, 'Not Found');
        return;
      }
      this.chain.handshake(req, socket, head);
    });
    this.httpServer.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      // A TLS failure after the handshake (a renegotiation refused, an alert): nothing more
      // can be sent on that connection, so no HTTP answer either.
      if (err.code?.startsWith('ERR_SSL_')) {
        this.chain.refuseTls(socket, err);
        return;
      }
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      if (err.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      this.reject(socket, status, `Bad Request: ${err.code ?? err.message}`);
    });
  }

  /** Starts listening (bind mode) or handling the attached server's upgrades (attach mode). */
  listen(): Promise<ListenAddress> {
    return this.external ? this.attach() : this.bind();
  }

  /**
   * Stops accepting: closes the listening handle (open sockets stay), or stops handling the
   * attached server's upgrades (the server itself keeps listening).
   */
  stop(): void {
    if (this.external) {
      this.httpServer.off('upgrade', this.onExternalUpgrade);
    } else {
      // close() stops the listening handle at once; its callback would wait for every socket.
      this.netServer?.close();
      this.netServer = undefined;
    }
  }

  private bind(): Promise<ListenAddress> {
    const o = this.options;
    return new Promise<ListenAddress>((resolve, reject) => {
      const server = createNetServer({ pauseOnConnect: true, highWaterMark: o.inBufferSize });
      const onError = (err: NodeJS.ErrnoException): void => {
        server.close();
        reject(listenError(err, o.host, o.port));
      };
      server.once('error', onError);
      server.on('connection', (socket: Socket) => {
        this.chain.accept(socket, (stream) => {
          this.httpServer.emit('connection', stream);
          stream.resume();
        });
      });
      server.listen(
        { host: o.host, port: o.port, backlog: o.backlog, exclusive: o.exclusive },
        () => {
          server.off('error', onError);
          server.on('error', (err) =>
            this.reportError(new ListenError('ERR_LISTEN', err.message, { cause: err })),
          );
          this.netServer = server;
          const address = toListenAddress(server.address() as AddressInfo);
          // Bound to one address, every socket's local end is that address and port: no
          // getsockname() per connection. A wildcard bind reads each socket's.
          this.chain.localEnd =
            address.address === '0.0.0.0' || address.address === '::'
              ? undefined
              : { address: displayAddress(address.address), port: address.port };
          resolve(address);
        },
      );
    });
  }

  private attach(): Promise<ListenAddress> {
    const server = this.httpServer;
    server.on('upgrade', this.onExternalUpgrade);
    if (server.listening) return Promise.resolve(toListenAddress(server.address() as AddressInfo));
    const o = this.options;
    return new Promise<ListenAddress>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        server.off('upgrade', this.onExternalUpgrade);
        reject(listenError(err, o.host, o.port));
      };
      server.once('error', onError);
      server.listen(
        { host: o.host, port: o.port, backlog: o.backlog, exclusive: o.exclusive },
        () => {
          server.off('error', onError);
          resolve(toListenAddress(server.address() as AddressInfo));
        },
      );
    });
  }

  private readonly onExternalUpgrade = (
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
  ): void => {
    if (!this.pathMatches(req)) {
      // Another handler on the same server may own this path; answer only when none does.
      if (this.httpServer.listenerCount('upgrade') === 1) this.reject(socket, 404, 'Not Found');
      return;
    }
    this.chain.accept(socket, () => this.chain.handshake(req, socket, head));
  };

  private pathMatches(req: IncomingMessage): boolean {
    const path = this.options.path;
    if (path === undefined) return true;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    return (q === -1 ? url : url.slice(0, q)) === path;
  }

  private reject(socket: Socket, status: number, reason: string): void {
    this.chain.refuseHttp(socket, status, reason, () =>
      writeHttpResponseAndClose(socket, buildHttpResponse(status, reason)),
    );
  }
}

/** The typed error for a failed bind. */
function listenError(err: NodeJS.ErrnoException, host: string, port: number): ListenError {
  return err.code === 'EADDRINUSE'
    ? new ListenError('ERR_ADDRESS_IN_USE', `${host}:${port} is already in use`, { cause: err })
    : new ListenError('ERR_LISTEN', `cannot listen on ${host}:${port}: ${err.message}`, {
        cause: err,
      });
}

function toListenAddress(info: AddressInfo): ListenAddress {
  return {
    address: info.address,
    family: info.family === 'IPv6' ? 'IPv6' : 'IPv4',
    port: info.port,
  };
}
