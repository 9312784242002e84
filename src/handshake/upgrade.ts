import type { TlsFacts } from '../tls-facts';
import { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { defaultIfEmpty, type MonoTypeOperatorFunction, type Subscription } from 'rxjs';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';
import { HookError, describeError, type ConnectionRefusedError, type RxwsError } from '../errors';
import { RequestPipeline, type PipedRequest } from '../util/request-pipeline';
import { pipedOpenRequest } from './piped-open-request';
import { socketClosed } from '../util/socket-closed';
import { refusalEntry, type Logger } from '../logs';
import { hookResult$, isDeferred, type HookResult } from '../hooks';
import {
  HANDSHAKE_HEADERS,
  buildHttpResponse,
  headerLines,
  writeHttpResponseAndClose,
} from './http-response';
import {
  checkDecision,
  type CheckedDecision,
  type OpenDecision,
  type OpenRequest,
  type RefusableOpenRequest,
} from './open-request';
import { validateUpgrade } from './validate';
import type { ResolvedDeflate } from './deflate-options';

/** What the handshake needs from the server. */
export interface HandshakeConfig {
  readonly logger: Logger;
  readonly maxPayload: number;
  /** permessage-deflate as resolved (`false`: not negotiated). */
  readonly perMessageDeflate: false | ResolvedDeflate;
  readonly closeTimeout: number;
  readonly protocols: readonly string[];
  readonly onOpenRequest: ((request: OpenRequest) => HookResult<OpenDecision>) | undefined;
  /** The user's operator over open requests, run before `onOpenRequest`. */
  readonly openPipeline: MonoTypeOperatorFunction<RefusableOpenRequest> | undefined;
  /** The WebSocket class `ws` makes for each connection (rxws's, with its streaming receiver). */
  readonly webSocketClass: typeof WebSocket;
  /** True while new connections must be turned away with 503 (the server is shutting down). */
  isClosing(): boolean;
  onError(error: RxwsError): void;
  /** `ws` has opened the socket; `data` is what `onOpenRequest` accepted it with. */
  onOpen(ws: WebSocket, socket: Socket, request: OpenRequest, data: unknown): void;
}

/**
 * `ws`'s permessage-deflate options for rxws's. Without `serverNoContextTakeover` the option is
 * left out rather than false: `ws` refuses an offer that asks for `server_no_context_takeover`
 * when it is false, and such a client would get no compression at all.
 */
function wsDeflateOptions(deflate: false | ResolvedDeflate): ServerOptions['perMessageDeflate'] {
  if (deflate === false) return false;
  return deflate.serverNoContextTakeover
    ? { serverNoContextTakeover: true, threshold: deflate.threshold }
    : { threshold: deflate.threshold };
}

/**
 * The HTTP upgrade stage: validates the request, asks `onOpenRequest`, answers a rejection with
 * a real HTTP response, and otherwise lets `ws` complete the handshake (101, key digest,
 * subprotocol) and set up its receiver and sender on the socket.
 */
export class Handshake {
  private readonly wss: WebSocketServer;
  private readonly decisions = new WeakMap<IncomingMessage, CheckedDecision & { accept: true }>();
  private readonly inFlight = new Set<Subscription>();
  /** The user's `openPipeline`, when there is one. */
  private readonly pipeline: RequestPipeline<RefusableOpenRequest & PipedRequest> | undefined;

  constructor(private readonly config: HandshakeConfig) {
    const operator = config.openPipeline as
      MonoTypeOperatorFunction<RefusableOpenRequest & PipedRequest> | undefined;
    this.pipeline = operator
      ? new RequestPipeline({ name: 'openPipeline', operator, onFailure: config.onError })
      : undefined;
    // closeTimeout (ws >= 8.19) is missing from @types/ws 8.18.
    const wsOptions: ServerOptions & { closeTimeout: number } = {
      noServer: true,
      clientTracking: false,
      perMessageDeflate: wsDeflateOptions(config.perMessageDeflate),
      maxPayload: config.maxPayload,
      WebSocket: config.webSocketClass,
      closeTimeout: config.closeTimeout,
      handleProtocols: (_offered, req) => this.decisions.get(req)?.protocol ?? false,
    };
    this.wss = new WebSocketServer(wsOptions);
    this.wss.on('headers', (headers: string[], req: IncomingMessage) => {
      const extra = this.decisions.get(req)?.headers;
      if (extra) headers.push(...headerLines(extra, HANDSHAKE_HEADERS));
    });
  }

  /** Handles one upgrade request on its socket; `peer` is the client, as the chain read it. */
  handle(
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    peer: {
      readonly remoteAddress: string;
      readonly remotePort: number;
      readonly tls?: TlsFacts;
    },
  ): void {
    const logger = this.config.logger;
    const { remoteAddress, remotePort } = peer;
    if (this.config.isClosing()) {
      this.reject(socket, 503, 'Server shutting down', {}, 'handshake', remoteAddress, remotePort);
      return;
    }
    const check = validateUpgrade(req.method, req.headers);
    if (!check.ok) {
      this.reject(
        socket,
        check.status,
        check.message,
        check.headers ?? {},
        'handshake',
        remoteAddress,
        remotePort,
      );
      return;
    }
    const version = Number(req.headers['sec-websocket-version']);
    const origin = version === 8 ? req.headers['sec-websocket-origin'] : req.headers.origin;
    const request: OpenRequest = {
      url: req.url ?? '/',
      host: req.headers.host ?? '',
      origin: typeof origin === 'string' ? origin : '',
      headers: req.headers,
      subprotocols: check.subprotocols,
      extensions: check.extensions,
      remoteAddress,
      remotePort,
      tls: peer.tls,
    };
    if (logger.enabled(2)) {
      logger.log({
        level: 2,
        type: 'request',
        message: `GET ${request.url} HTTP/${req.httpVersion} from ${remoteAddress}:${remotePort} (host ${request.host}, origin ${request.origin || '-'}, subprotocols ${request.subprotocols.join(',') || '-'})`,
        remoteAddress,
        remotePort,
      });
    }

    const pipeline = this.pipeline;
    if (pipeline) {
      // A socket that closes while its request is in the pipeline takes it out.
      const forget = (): void => pipeline.forget(piped);
      const piped = pipedOpenRequest(
        request,
        {
          refused: (reason) => {
            socket.removeListener('close', forget);
            forget();
            this.refused(socket, request, reason);
          },
          proceed: () => {
            socket.removeListener('close', forget);
            if (!socket.destroyed) this.ask(req, socket, head, request);
          },
        },
        socketClosed(socket),
      );
      socket.once('close', forget);
      pipeline.push(piped);
      return;
    }
    this.ask(req, socket, head, request);
  }

  /** `open`: asks `onOpenRequest`, then decides. */
  private ask(req: IncomingMessage, socket: Socket, head: Buffer, request: OpenRequest): void {
    const hook = this.config.onOpenRequest;
    if (!hook) {
      this.decide(req, socket, head, request, undefined);
      return;
    }
    let result;
    try {
      result = hook(request);
    } catch (err) {
      this.hookFailed(socket, request, err);
      return;
    }
    // A plain answer, the common case, is decided at once: no Observable per handshake.
    if (!isDeferred(result)) {
      this.decide(req, socket, head, request, result as OpenDecision);
      return;
    }
    const answer$ = hookResult$(result);
    let sync = true;
    let done = false;
    const subscription = answer$.pipe(defaultIfEmpty(false as OpenDecision)).subscribe({
      next: (answer) => {
        done = true;
        if (!sync) this.inFlight.delete(subscription);
        this.decide(req, socket, head, request, answer);
      },
      error: (err: unknown) => {
        done = true;
        if (!sync) this.inFlight.delete(subscription);
        this.hookFailed(socket, request, err);
      },
    });
    sync = false;
    if (!done) {
      this.inFlight.add(subscription);
      // A socket that closes while the hook thinks drops the hook's answer.
      socket.once('close', () => {
        subscription.unsubscribe();
        this.inFlight.delete(subscription);
      });
    }
  }

  /** Stops waiting for every hook answer still pending, and for `openPipeline`. */
  cancelPending(): void {
    this.pipeline?.close();
    for (const s of this.inFlight) s.unsubscribe();
    this.inFlight.clear();
  }

  private decide(
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    request: OpenRequest,
    answer: OpenDecision,
  ): void {
    if (socket.destroyed) return;
    let decision: CheckedDecision;
    try {
      decision = checkDecision(answer, request, this.config.protocols, (s) => STATUS_CODES[s]);
      if (decision.accept) headerLines(decision.headers, HANDSHAKE_HEADERS);
    } catch (err) {
      this.hookFailed(socket, request, err);
      return;
    }
    if (!decision.accept) {
      this.reject(
        socket,
        decision.status,
        decision.reason,
        decision.headers,
        'open',
        request.remoteAddress,
        request.remotePort,
      );
      return;
    }
    if (this.config.isClosing()) {
      this.reject(
        socket,
        503,
        'Server shutting down',
        {},
        'open',
        request.remoteAddress,
        request.remotePort,
      );
      return;
    }
    const data = decision.data;
    this.decisions.set(req, decision);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.decisions.delete(req);
      this.config.onOpen(ws, socket, request, data);
    });
  }

  /**
   * A request `openPipeline` refused: answered with the refusal's status (default 403) and
   * reason; one it refused because it failed, with a bare 500 (the failure is on `errors$`).
   */
  private refused(socket: Socket, request: OpenRequest, reason: ConnectionRefusedError): void {
    let status = reason.status ?? 403;
    let text = reason.message;
    if (reason.cause instanceof HookError) {
      status = 500;
      text = 'Internal Server Error';
    } else if (!Number.isInteger(status) || status < 300 || status > 599) {
      this.config.onError(
        new HookError(
          'ERR_HOOK',
          `openPipeline refused with status ${String(status)}; it must be an integer from 300 to 599`,
          { cause: reason, status: 500 },
        ),
      );
      status = 500;
      text = 'Internal Server Error';
    }
    this.reject(socket, status, text, {}, 'open', request.remoteAddress, request.remotePort);
  }

  private hookFailed(socket: Socket, request: OpenRequest, err: unknown): void {
    const error = new HookError('ERR_HOOK', `onOpenRequest failed: ${describeError(err)}`, {
      cause: err,
      status: 500,
    });
    this.config.onError(error);
    this.reject(
      socket,
      500,
      'Internal Server Error',
      {},
      'open',
      request.remoteAddress,
      request.remotePort,
    );
  }

  private reject(
    socket: Socket,
    status: number,
    reason: string,
    headers: OutgoingHttpHeaders,
    stage: 'handshake' | 'open',
    remoteAddress: string,
    remotePort: number,
  ): void {
    let response: string;
    try {
      response = buildHttpResponse(status, reason, headers);
    } catch (err) {
      this.config.onError(
        new HookError(
          'ERR_HOOK',
          `onOpenRequest gave invalid response headers: ${describeError(err)}`,
          {
            cause: err,
            status: 500,
          },
        ),
      );
      status = 500;
      reason = 'Internal Server Error';
      response = buildHttpResponse(status, reason);
    }
    this.config.logger.log(refusalEntry(stage, status, reason, remoteAddress, remotePort));
    writeHttpResponseAndClose(socket, response);
  }
}
