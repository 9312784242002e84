import type { Socket } from 'node:net';
import { X509Certificate } from 'node:crypto';
import {
  createServer as createTlsServer,
  type SecureContext,
  type Server as TlsServer,
  type TLSSocket,
} from 'node:tls';
import { HookError, describeError } from '../errors';
import { hookResult$, type HookResult } from '../hooks';
import type { Logger } from '../logs';
import { readClientHello } from '../protocol/client-hello';
import type {
  ClientCertificateInfo,
  PeerCertificate,
  TlsFacts,
  TlsRequestInfo,
} from '../tls-facts';
import { contextFor, type ResolvedTls } from './tls-options';

export type { ClientCertificateInfo, TlsFacts, TlsRequestInfo };

/** The peer of a socket in the chain. */
interface TlsPeer {
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** What the TLS stage tells the chain about one socket. */
export interface TlsOutcome {
  /** The handshake is done and the client accepted: go on to HTTP with the TLS socket. */
  secure(tlsSocket: TLSSocket, facts: TlsFacts): void;
  /** The handshake failed or the client certificate was rejected: the socket is destroyed. */
  refused(code: 'ERR_TLS' | 'ERR_CLIENT_CERT' | 'ERR_CONNECTION_REFUSED', reason: string): void;
}

export interface TlsStageConfig {
  readonly logger: Logger;
  readonly onClientCertificate: ((info: ClientCertificateInfo) => HookResult<boolean>) | undefined;
  readonly onTlsRequest: ((info: TlsRequestInfo) => HookResult<boolean>) | undefined;
  onHookError(error: HookError): void;
}

function peerCertificate(x: X509Certificate): PeerCertificate {
  return {
    pem: x.toString(),
    subject: x.subject,
    issuer: x.issuer,
    serialNumber: x.serialNumber,
    fingerprint256: x.fingerprint256,
    validFrom: x.validFrom,
    validTo: x.validTo,
  };
}

/** Key bits of the bulk cipher, read from the suite's name (Node does not give them). */
export function cipherBits(name: string): number | undefined {
  if (/AES_?256|AES256|CHACHA20|CAMELLIA256|ARIA256/i.test(name)) return 256;
  if (/AES_?128|AES128|CAMELLIA128|ARIA128/i.test(name)) return 128;
  if (/3DES|DES-CBC3/i.test(name)) return 112;
  return undefined;
}

/** OpenSSL's reason from a handshake error: `'unsupported protocol'`, `'no shared cipher'`... */
export function opensslReason(err: Error): string {
  const found = /:SSL routines:[^:]*:([^:]+):/.exec(err.message);
  return found ? found[1] : err.message;
}

/**
 * The TLS stage of the accept path (IPWorks' UseSSL): a socket that passed the connection stage
 * is handed to a `tls.Server` that never listens (it only runs handshakes), so Node does what it
 * does for `https`: certificates by SNI, session tickets, client-certificate verification
 * against `ca` and `crl`. Then `onClientCertificate` decides, and the TLS socket goes on to HTTP.
 *
 * The chain's `handshakeTimeout` covers this stage (the `tls.Server`'s own timeout is off).
 * `replace()` swaps certificates, CAs and CRLs for the handshakes that start afterwards.
 */
export class TlsStage {
  /** Runs the handshakes that start now; replaced by `replace()`, in-flight ones keep theirs. */
  private server: TlsServer;
  /** Sockets in their TLS handshake, by `address|port` of the TCP connection. */
  private readonly waiting = new Map<
    string,
    { readonly peer: TlsPeer; readonly outcome: TlsOutcome }
  >();

  constructor(
    private resolved: ResolvedTls,
    private readonly config: TlsStageConfig,
  ) {
    this.server = this.makeServer(resolved);
  }

  /**
   * A `tls.Server` for these settings. Node's per-handshake callbacks cost a trip into
   * JavaScript each: the SNI callback is given only with `sni` certificates, the key-log
   * listener only with `keylog` (measured: with both always on, a TLS connect cost 8% more CPU).
   */
  private makeServer(resolved: ResolvedTls, previous?: TlsServer): TlsServer {
    const sni = resolved.exact.size > 0 || resolved.wildcard.length > 0;
    const server = createTlsServer({
      ...resolved.contextOptions,
      requestCert: resolved.requestClientCert,
      // rxws decides (the verdict, then onClientCertificate): the handshake itself completes.
      rejectUnauthorized: false,
      handshakeTimeout: 0,
      ...(sni
        ? {
            SNICallback: (
              servername: string,
              cb: (err: Error | null, ctx?: SecureContext) => void,
            ) => cb(null, contextFor(resolved, servername)),
          }
        : {}),
    });
    // Tickets issued before a swap stay good after it, unless new ticket keys are given.
    if (previous && !resolved.contextOptions.ticketKeys) {
      server.setTicketKeys(previous.getTicketKeys());
    }
    server.on('secureConnection', (socket: TLSSocket) => this.onSecure(socket));
    server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
      const entry = this.take(socket);
      socket.destroy();
      entry?.outcome.refused('ERR_TLS', `TLS handshake failed: ${opensslReason(err)}`);
    });
    if (resolved.keylog) {
      const keylog = resolved.keylog;
      server.on('keylog', (line: Buffer, socket: TLSSocket) =>
        keylog(line, socket.remoteAddress ?? ''),
      );
    }
    return server;
  }

  /** Starts the handshake of a socket that passed the connection stage. */
  start(socket: Socket, peer: TlsPeer, outcome: TlsOutcome): void {
    const key = `${socket.remoteAddress}|${socket.remotePort}`;
    this.waiting.set(key, { peer, outcome });
    socket.once('close', () => this.waiting.delete(key));
    const logger = this.config.logger;
    if (logger.enabled(3)) {
      logger.log({
        level: 3,
        type: 'tls',
        event: 'handshake-start',
        message: `TLS handshake with ${peer.remoteAddress}:${peer.remotePort}`,
        remoteAddress: peer.remoteAddress,
        remotePort: peer.remotePort,
      });
    }
    const hook = this.config.onTlsRequest;
    if (hook) this.peek(socket, peer, outcome, hook);
    else this.server.emit('connection', socket);
  }

  /**
   * `onTlsRequest`: reads the client's ClientHello (nothing is answered yet), asks the hook
   * with what it offers, then gives the bytes back to the socket and the handshake goes on, or
   * the socket is destroyed without a TLS byte sent.
   */
  private peek(
    socket: Socket,
    peer: TlsPeer,
    outcome: TlsOutcome,
    hook: (info: TlsRequestInfo) => HookResult<boolean>,
  ): void {
    let data: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      data = data.length === 0 ? chunk : Buffer.concat([data, chunk]);
      const read = readClientHello(data);
      if (read.state === 'partial') return;
      socket.off('data', onData);
      socket.pause();
      if (read.state === 'invalid') {
        socket.destroy();
        outcome.refused('ERR_TLS', `TLS handshake failed: ${read.reason}`);
        return;
      }
      // Node's TLS socket takes what is buffered on the socket it wraps as received.
      socket.unshift(data);
      const info: TlsRequestInfo = {
        remoteAddress: peer.remoteAddress,
        remotePort: peer.remotePort,
        ...read.hello,
      };
      this.ask(
        'onTlsRequest',
        () => hook(info),
        (accept) => {
          if (socket.destroyed) return;
          if (accept) {
            this.server.emit('connection', socket);
            return;
          }
          socket.destroy();
          outcome.refused('ERR_CONNECTION_REFUSED', 'refused by onTlsRequest');
        },
      );
    };
    socket.on('data', onData);
    socket.resume();
  }

  /**
   * New certificates, CAs, CRLs or settings for the handshakes that start from now on: a new
   * `tls.Server` takes them; handshakes under way finish with the one they started on.
   */
  replace(resolved: ResolvedTls): void {
    this.server = this.makeServer(resolved, this.server);
    this.resolved = resolved;
  }

  private take(socket: TLSSocket): { peer: TlsPeer; outcome: TlsOutcome } | undefined {
    const key = `${socket.remoteAddress}|${socket.remotePort}`;
    const entry = this.waiting.get(key);
    this.waiting.delete(key);
    return entry;
  }

  private onSecure(socket: TLSSocket): void {
    const entry = this.take(socket);
    if (!entry) {
      socket.destroy();
      return;
    }
    const cipher = socket.getCipher();
    const servername = typeof socket.servername === 'string' ? socket.servername : undefined;
    const x509 = this.resolved.requestClientCert ? socket.getPeerX509Certificate() : undefined;
    const certificate = x509 ? peerCertificate(x509) : undefined;
    const verdict = this.resolved.requestClientCert
      ? socket.authorized
        ? 'OK'
        : certificate
          ? String(socket.authorizationError ?? 'UNKNOWN')
          : 'NO_CERTIFICATE'
      : undefined;
    const facts: TlsFacts = {
      protocol: socket.getProtocol() ?? 'unknown',
      cipher: { name: cipher.name, standardName: cipher.standardName, version: cipher.version },
      cipherBits: cipherBits(cipher.standardName || cipher.name),
      servername,
      resumed: socket.isSessionReused(),
      peerCertificate: certificate,
      verdict,
    };
    const { peer, outcome } = entry;
    const go = (accept: boolean): void => {
      if (socket.destroyed) return;
      if (!accept) {
        socket.destroy();
        outcome.refused('ERR_CLIENT_CERT', `client certificate rejected (${verdict})`);
        return;
      }
      const logger = this.config.logger;
      if (logger.enabled(2)) {
        logger.log({
          level: 2,
          type: 'tls',
          event: 'secure',
          message: `TLS with ${peer.remoteAddress}:${peer.remotePort}: ${facts.protocol} ${facts.cipher.standardName}${facts.resumed ? ', resumed' : ''}`,
          remoteAddress: peer.remoteAddress,
          remotePort: peer.remotePort,
          protocol: facts.protocol,
          cipher: facts.cipher.standardName,
          resumed: facts.resumed,
          servername: facts.servername,
          verdict: facts.verdict,
        });
      }
      outcome.secure(socket, facts);
    };
    if (verdict === undefined) {
      go(true);
      return;
    }
    const recommended = verdict === 'OK';
    const hook = this.config.onClientCertificate;
    if (!hook) {
      go(recommended);
      return;
    }
    const info: ClientCertificateInfo = {
      remoteAddress: peer.remoteAddress,
      remotePort: peer.remotePort,
      servername,
      certificate,
      verdict,
      accept: recommended,
    };
    this.ask('onClientCertificate', () => hook(info), go);
  }

  /**
   * Asks a boolean hook and calls `decide` once with its answer; a throw, an error, an answer
   * that is not a boolean or no answer at all is reported as `ERR_HOOK` and decides false.
   */
  private ask(name: string, call: () => HookResult<boolean>, decide: (yes: boolean) => void): void {
    let answered = false;
    const fail = (cause: unknown): void => {
      this.config.onHookError(
        new HookError('ERR_HOOK', `${name} failed: ${describeError(cause)}`, { cause }),
      );
      decide(false);
    };
    try {
      hookResult$(call()).subscribe({
        next: (answer) => {
          answered = true;
          if (typeof answer !== 'boolean') {
            fail(new TypeError(`it answered ${String(answer)}, not a boolean`));
          } else decide(answer);
        },
        error: fail,
        complete: () => {
          if (!answered) fail(new TypeError('it completed without an answer'));
        },
      });
    } catch (err) {
      fail(err);
    }
  }
}
