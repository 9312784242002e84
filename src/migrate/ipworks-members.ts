/**
 * Every member of IPWorks' WebSocketServer (/n software's IPWorks WebSockets 2020), with what
 * rxws has for it: the one table that maps the original component's names to rxws's. The
 * appendix of `docs/ipworks.md` shows it, and a spec keeps the two equal; `fromIPWorksConfig()`
 * maps the members that have an `option`. Pure data.
 */

/** The kinds of member: properties, methods, events, `Config()` settings, connection fields. */
export type IPWorksMemberKind = 'property' | 'method' | 'event' | 'config' | 'field';

/** One member of IPWorks' WebSocketServer and its rxws equivalent. */
export interface IPWorksMember {
  /** As IPWorks spells it: `BufferMessage`, `MessageLength[ConnectionId]`. */
  readonly name: string;
  readonly kind: IPWorksMemberKind;
  /** The `createServer()` option `fromIPWorksConfig()` maps it to (dotted when nested). */
  readonly option?: string;
  /** The rxws equivalent when it is not an option (markdown); absent when there is none. */
  readonly use?: string;
  /** Units and differences, or why there is no equivalent (markdown, one sentence or two). */
  readonly note: string;
}

const TLS = 'TLS arrives with wss support (issue 14)';

/** The note of a TLS setting: when TLS comes, and what to set on an `https.Server` meanwhile. */
function tls(meanwhile: string): string {
  return `${TLS}; meanwhile ${meanwhile} on an \`https.Server\` given as option \`server\``;
}

/** The note of a read-only TLS setting, read per connection. */
const TLS_READ_ONLY = `${TLS}; read-only, per connection`;

const member = (
  kind: IPWorksMemberKind,
  name: string,
  rest: Omit<IPWorksMember, 'kind' | 'name'>,
): IPWorksMember => Object.freeze({ name, kind, ...rest });

/**
 * Every member, grouped by kind in the order IPWorks' documentation lists them: the properties,
 * methods, events and configuration settings of its summary (plus `LogLevel`, which its Log
 * event refers to), then the fields of a connection (`WebSocketConnection`).
 */
export const IPWORKS_MEMBERS: readonly IPWorksMember[] = Object.freeze([
  // Properties
  member('property', 'ConnectionBacklog', {
    option: 'backlog',
    note: "IPWorks' default is 5, rxws's 511 (Node's)",
  }),
  member('property', 'Connections', {
    use: '`server.connections` (a `ReadonlyMap` by id), `connections$`',
    note: 'read at run time, not set',
  }),
  member('property', 'DefaultTimeout', {
    option: 'defaultTimeout',
    note: 'seconds in both; 0: a send never times out; each `conn.timeout` starts at it',
  }),
  member('property', 'Listening', {
    use: '`server.listen()`, `stopListening()`, `listening`, `listening$`',
    note: '`createServer()` never listens: call `listen()`; `false` maps to nothing',
  }),
  member('property', 'LocalHost', {
    option: 'host',
    note: '`""` (every interface) maps to no `host`: rxws listens on `0.0.0.0` (`::` with `ipv6`)',
  }),
  member('property', 'LocalPort', {
    option: 'port',
    note: '0 picks a free port; `listen()` resolves with the real one',
  }),
  member('property', 'SSLAuthenticateClients', {
    note: `${tls('set `requestCert`')}; \`false\` maps to nothing`,
  }),
  member('property', 'SSLCertEncoded', {
    note: tls('set `cert` (PEM)'),
  }),
  member('property', 'SSLCertStore', {
    note: `${tls('set `pfx`, or `key` and `cert`,')}; Node has no certificate stores`,
  }),
  member('property', 'SSLCertStorePassword', {
    note: tls('set `passphrase`'),
  }),
  member('property', 'SSLCertStoreType', {
    note: tls('set `pfx` (PFX) or `key` and `cert` (PEM)'),
  }),
  member('property', 'SSLCertSubject', {
    note: tls('set the `cert` you chose'),
  }),
  member('property', 'UseSSL', {
    note: `${tls('set `key` and `cert`')}; \`false\` maps to nothing`,
  }),

  // Methods
  member('method', 'Config', {
    use: '`fromIPWorksConfig()`, then the options of `createServer()`; `server.options`',
    note: 'options are resolved once, at `createServer()`: none changes at run time',
  }),
  member('method', 'Disconnect', {
    use: '`conn.disconnect(code?, reason?)`, `server.disconnect(id, code?, reason?)`',
    note: 'a Promise of how the connection closed; queued sends go out first',
  }),
  member('method', 'DoEvents', {
    note: 'not needed in Node, whose event loop runs continuously and delivers every event as it happens',
  }),
  member('method', 'Interrupt', {
    use: '`conn.interrupt()`, or unsubscribing from `sendStream()`/`sendFile()`',
    note: 'cancels the streamed send in flight (`ERR_INTERRUPTED`); after its first fragment the connection closes with 1011',
  }),
  member('method', 'Send', {
    use: '`conn.send(data, { format? })`, `conn.sink.next(data)`, `server.broadcast(data)`',
    note: 'a Promise, resolved once handed to the socket; `conn.trySend()` is the non-blocking form',
  }),
  member('method', 'SendFile', {
    use: '`conn.sendFile(path, { format?, chunkSize? })`',
    note: 'a cold Observable of `{ bytesSent, totalBytes }`; `ERR_FILE` before any frame when the file cannot be read',
  }),
  member('method', 'SendText', {
    use: '`conn.sendText(text)`',
    note: "a text message whatever its content: `send(text, { format: 'text' })`",
  }),
  member('method', 'Shutdown', {
    use: '`server.shutdown({ code?, reason? })`',
    note: 'closes every connection with 1001 (or `disconnectStatusCode`) and completes every stream',
  }),

  // Events
  member('event', 'Connected', {
    use: '`server.connections$`; log entry `open`',
    note: 'emits each connection once it is open (hot)',
  }),
  member('event', 'ConnectionRequest', {
    use: 'option `onConnectionRequest`; operator `allowedClients()`',
    note: 'the hook answers a boolean, a Promise or an Observable; a refusal is a log entry `refused` with stage `connection`',
  }),
  member('event', 'DataIn', {
    use: '`conn.fragments$`, `conn.messages$`, `server.messages$`; `conn.pongs$`',
    note: 'pieces carry `eom` (EOM); text arrives as `string`, binary as `Buffer`; pongs (DataFormat 10) arrive on `pongs$`',
  }),
  member('event', 'Disconnected', {
    use: '`server.disconnections$`, `conn.closed$`; log entry `close`',
    note: '`{ code, reason, wasClean, error? }`, emitted while the connection is still in `connections`',
  }),
  member('event', 'Error', {
    use: '`server.errors$`, `conn.errors$`; log entry `error`',
    note: 'typed errors with a stable `code` (`RxwsError`); one connection failing never ends the stream',
  }),
  member('event', 'Log', {
    use: '`server.logs$`',
    note: "entries are a union by `type` (IPWorks' LogType, made specific), each kind with its own fields; verbosity from option `logLevel`",
  }),
  member('event', 'ReadyToSend', {
    use: '`conn.readyToSend$`; operator `followReadyToSend()`; log entry `ready-to-send`',
    note: 'current value, then each edge; sends made while false wait in order in the send queue',
  }),
  member('event', 'SSLClientAuthentication', {
    note: tls("handle `'secureConnection'`"),
  }),
  member('event', 'SSLConnectionRequest', {
    note: tls('set `SNICallback`'),
  }),
  member('event', 'SSLStatus', {
    note: tls("handle `'secureConnection'` and `'tlsClientError'`"),
  }),
  member('event', 'WebSocketOpenRequest', {
    use: 'option `onOpenRequest`; option `protocols`',
    note: 'answers `true`, `false` (403) or `{ accept, status?, protocol?, headers?, reason? }`, at once or as a Promise or Observable',
  }),

  // Configuration settings
  member('config', 'BufferMessage', {
    option: 'bufferMessage',
    note: "IPWorks' default is false, rxws's true; it picks what `server.messages$` carries: `conn.messages$` is always whole, `conn.fragments$` always pieces",
  }),
  member('config', 'DisconnectStatusCode', {
    option: 'disconnectStatusCode',
    note: 'when set, `shutdown()` uses it too (else 1001)',
  }),
  member('config', 'DisconnectStatusDescription', {
    option: 'disconnectStatusDescription',
    note: 'at most 123 UTF-8 bytes',
  }),
  member('config', 'MaxFrameSize', {
    option: 'maxFrameSize',
    note: "bytes in both; rxws's default 0 sends each message as one frame",
  }),
  member('config', 'MessageLength[ConnectionId]', {
    use: '`conn.sendStream(source, { length })`',
    note: 'a length per message, declared when it is sent in pieces',
  }),
  member('config', 'WaitForCloseResponse', {
    option: 'waitForCloseResponse',
    note: 'rxws waits at most `closeTimeout` ms (5000)',
  }),
  member('config', 'AllowedClients', {
    option: 'allowedClients',
    note: 'comma-separated in both; each entry is checked as option `allowedClients` checks it (IPv4 with `*` octets, IPv6, CIDR blocks, host names looked up at `listen()` and every `allowedClientsRefresh` ms)',
  }),
  member('config', 'BindExclusively', {
    option: 'exclusive',
    note: "Node's `exclusive` listen flag: the handle is not shared with cluster workers (SO_EXCLUSIVEADDRUSE is Windows-only)",
  }),
  member('config', 'CloseStreamAfterTransfer', {
    option: 'closeStreamAfterTransfer',
    note: 'for a Node stream given to `sendStream()`',
  }),
  member('config', 'DefaultConnectionTimeout', {
    option: 'handshakeTimeout',
    note: "seconds become milliseconds (×1000); rxws bounds the time from TCP accept to the open WebSocket (an attached `https.Server` bounds its TLS handshake with its own `handshakeTimeout`); 0 (no limit) maps to nothing and rxws's default of 10 s applies",
  }),
  member('config', 'InBufferSize', {
    option: 'inBufferSize',
    note: "bytes; Node cannot set SO_RCVBUF: the socket's readable high-water mark instead",
  }),
  member('config', 'KeepAliveInterval', {
    option: 'keepAlive.interval',
    note: 'milliseconds in both; Node 20 cannot set it (the OS default applies, and a verbose log entry `option-ignored` says so); given alone, keep-alive is on with the OS idle time (`time: 0`)',
  }),
  member('config', 'KeepAliveTime', {
    option: 'keepAlive.time',
    note: 'milliseconds in both; turns keep-alive on',
  }),
  member('config', 'MaxConnections', {
    option: 'maxConnections',
    note: 'at most 100000; rxws also limits each client address to a quarter of it (`maxConnectionsPerAddress`)',
  }),
  member('config', 'OutBufferSize', {
    option: 'outBufferSize',
    note: "bytes; Node cannot set SO_SNDBUF: the socket's buffered bytes past which sends wait in rxws's queue instead",
  }),
  member('config', 'TcpNoDelay', {
    option: 'tcpNoDelay',
    note: "IPWorks' default is false, rxws's true (as `ws`)",
  }),
  member('config', 'UseIPv6', {
    option: 'ipv6',
    note: 'true, 1 or 2: listen on `::`, which takes IPv4 clients too (dual stack); false or 0: on `0.0.0.0`; only without `LocalHost`',
  }),
  member('config', 'LogSSLPackets', {
    note: `${tls("call `enableTrace()` in `'secureConnection'`")}; \`false\` maps to nothing`,
  }),
  member('config', 'OpenSSLCADir', {
    note: tls('set `ca` to the certificates of the directory'),
  }),
  member('config', 'OpenSSLCAFile', {
    note: tls('set `ca` to the file'),
  }),
  member('config', 'OpenSSLCipherList', {
    note: tls('set `ciphers`'),
  }),
  member('config', 'OpenSSLPrngSeedData', {
    note: "not needed, Node's OpenSSL seeds itself",
  }),
  member('config', 'ReuseSSLSession', {
    note: tls('set `ticketKeys` and `sessionTimeout`'),
  }),
  member('config', 'SSLCACerts', {
    note: tls('append them to `cert`'),
  }),
  member('config', 'SSLCheckCRL', {
    note: tls('set `crl`'),
  }),
  member('config', 'SSLCipherStrength', {
    note: tls('set `ciphers` (`HIGH`, `@SECLEVEL=n`)'),
  }),
  member('config', 'SSLEnabledCipherSuites', {
    note: tls('set `ciphers`'),
  }),
  member('config', 'SSLEnabledProtocols', {
    note: tls('set `minVersion` and `maxVersion`'),
  }),
  member('config', 'SSLEnableRenegotiation', {
    note: tls('set `secureOptions`'),
  }),
  member('config', 'SSLIncludeCertChain', {
    note: tls('put the intermediates in `cert`'),
  }),
  member('config', 'SSLNegotiatedCipher', { note: TLS_READ_ONLY }),
  member('config', 'SSLNegotiatedCipherStrength', { note: TLS_READ_ONLY }),
  member('config', 'SSLNegotiatedCipherSuite', { note: TLS_READ_ONLY }),
  member('config', 'SSLNegotiatedKeyExchange', { note: TLS_READ_ONLY }),
  member('config', 'SSLNegotiatedKeyExchangeStrength', { note: TLS_READ_ONLY }),
  member('config', 'SSLNegotiatedProtocol', { note: TLS_READ_ONLY }),
  member('config', 'SSLProvider', {
    note: 'not needed, Node always uses the OpenSSL it is built with',
  }),
  member('config', 'SSLSecurityFlags', {
    note: tls("set `rejectUnauthorized` and check in `'secureConnection'`"),
  }),
  member('config', 'SSLServerCACerts', {
    note: tls('set `ca`'),
  }),
  member('config', 'TLS12SignatureAlgorithms', {
    note: tls('set `sigalgs`'),
  }),
  member('config', 'TLS12SupportedGroups', {
    note: tls('set `ecdhCurve`'),
  }),
  member('config', 'TLS13KeyShareGroups', {
    note: "not needed, a server answers with one of the client's key shares",
  }),
  member('config', 'TLS13SignatureAlgorithms', {
    note: tls('set `sigalgs`'),
  }),
  member('config', 'TLS13SupportedGroups', {
    note: tls('set `ecdhCurve`'),
  }),
  member('config', 'LogLevel', {
    option: 'logLevel',
    note: 'the same scale (0 none to 3 debug); missing from the summary list, the Log event refers to it',
  }),

  // Fields of a connection (WebSocketConnection)
  member('field', 'AcceptData', {
    use: '`conn.pause()`, `conn.resume()`, `conn.paused`; operator `flowControl()`',
    note: 'while paused nothing is read and TCP pushes back on the client',
  }),
  member('field', 'BytesSent', {
    use: '`conn.stats.bytesOut`',
    note: 'a running total; `trySend()` sends a whole message or throws `ERR_WOULD_BLOCK`, never part of one',
  }),
  member('field', 'Connected', {
    use: '`conn.connected`, `conn.state`; `conn.disconnect()`',
    note: 'read-only: to close, call `disconnect()`',
  }),
  member('field', 'ConnectionId', {
    use: '`conn.id`',
    note: 'a string, unique within the server, never reused',
  }),
  member('field', 'DataFormat', {
    use: "`{ format: 'text' }` or `{ format: 'binary' }` per send; `conn.ping()`",
    note: 'default by data type: a string goes as text, bytes as binary; `ws` answers pings with pongs itself',
  }),
  member('field', 'DataToSend', {
    use: '`conn.trySend(data)`, `conn.sink.next(data)`',
    note: '`trySend()` throws `ERR_WOULD_BLOCK` where IPWorks fails with 10035',
  }),
  member('field', 'LocalAddress', {
    use: '`conn.localAddress`, `conn.localPort`',
    note: 'IPv4-mapped IPv6 addresses are shown as IPv4',
  }),
  member('field', 'ReadyToSend', {
    use: '`conn.readyToSend`',
    note: 'the current value of `readyToSend$`',
  }),
  member('field', 'RemoteHost', {
    use: '`conn.remoteAddress`',
    note: 'IPv4-mapped IPv6 addresses are shown as IPv4',
  }),
  member('field', 'RemotePort', {
    use: '`conn.remotePort`',
    note: '',
  }),
  member('field', 'Timeout', {
    use: '`conn.timeout`',
    note: 'seconds in both, starting at `defaultTimeout`; a send making no progress that long rejects with `ERR_TIMEOUT`',
  }),
]);
