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
    option: 'tls.requestClientCert',
    note: "asks clients for a certificate, checked against `tls.ca` (Node's bundled root CAs when none is given) and `tls.crl`; option `onClientCertificate` decides, and without it only a certificate whose chain verifies is accepted; `false` maps to nothing",
  }),
  member('property', 'SSLCertEncoded', {
    use: 'option `tls.cert`, with `tls.key`',
    note: 'a certificate without its key: `fromIPWorksConfig()` takes the certificate from `SSLCertStore`, or from its option `certificate`',
  }),
  member('property', 'SSLCertStore', {
    option: 'tls.pfx',
    note: 'read as `SSLCertStoreType` says: PFXFile (2, the file) and PFXBlob (3, the bundle in base64) become `tls.pfx`; PEMKeyFile (6, the file) and PEMKeyBlob (7, the text), holding the certificate, its chain and its key, become `tls.cert` and `tls.key`',
  }),
  member('property', 'SSLCertStorePassword', {
    option: 'tls.passphrase',
    note: 'of the PKCS#12 bundle or of an encrypted PEM key',
  }),
  member('property', 'SSLCertStoreType', {
    use: 'read with `SSLCertStore`',
    note: "PFXFile (2), PFXBlob (3), PEMKeyFile (6) and PEMKeyBlob (7), by number or name; Node reads only PEM and PKCS#12: Windows stores (User 0, IPWorks' default, and Machine 1), JKS (4, 5), PKCS#11 (23) and the other types have no equivalent (export the certificate and its key to PEM or PKCS#12; `tls.certStore` and `tls.certStoreType` are refused with that advice)",
  }),
  member('property', 'SSLCertSubject', {
    option: 'tls.certSubject',
    note: "picks, among PEM certificates, the one whose subject contains this text (Node prints a subject one `key=value` per line: give one part, such as `CN=name`); `*` or empty maps to nothing; with a PKCS#12 store it is refused, as rxws serves the certificate of the bundle's key",
  }),
  member('property', 'UseSSL', {
    option: 'tls',
    note: 'true: `fromIPWorksConfig()` makes `tls` from the certificate and the SSL settings, or reports UseSSL when it finds no certificate Node can read; the TLS handshake is then a stage of the accept path, between the connection request and HTTP; `false` maps to nothing',
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
    use: 'option `onClientCertificate`; `conn.tls.peerCertificate`',
    note: "gets the certificate (PEM, subject, issuer, serial number, SHA-256 fingerprint, validity), the verdict (`'OK'` or Node's error code, `'NO_CERTIFICATE'` when none was sent) and `accept`; its answer (a boolean, Promise or Observable) overrides the verdict both ways; a rejection is a log entry `refused` with stage `tls`, code `ERR_CLIENT_CERT`",
  }),
  member('event', 'SSLConnectionRequest', {
    use: 'option `onTlsRequest`; option `tls.sni`',
    note: 'the hook gets the host name asked for (SNI), the ALPN protocols and TLS versions offered, read from the ClientHello before any TLS byte is answered, and answers a boolean; it does not see the cipher suites or signature algorithms offered, nor choose the certificate: `tls.sni` chooses it by host name',
  }),
  member('event', 'SSLStatus', {
    use: 'log entries `tls` (`handshake-start`, `secure`); `refused` with stage `tls`',
    note: "`secure` carries the protocol, cipher, resumption, host name and verdict; a failed handshake is `refused` with `ERR_TLS` and OpenSSL's reason",
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
    note: "seconds become milliseconds (×1000); rxws bounds the time from TCP accept to the open WebSocket, the TLS handshake included (an attached `https.Server` bounds its TLS handshake with its own `handshakeTimeout`); 0 (no limit) maps to nothing and rxws's default of 10 s applies",
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
    use: 'option `tls.keylog` (a callback)',
    note: "gets each line of TLS key material (NSS key-log format, as Wireshark's SSLKEYLOGFILE reads), not the packets; `false` maps to nothing",
  }),
  member('config', 'OpenSSLCADir', {
    option: 'tls.ca',
    note: "rxws reads the directory's `.pem`, `.crt` and `.cer` files (Node has no CApath); one list with SSLCACerts and OpenSSLCAFile",
  }),
  member('config', 'OpenSSLCAFile', {
    option: 'tls.ca',
    note: 'the path, read at `createServer()`; one list with SSLCACerts and OpenSSLCADir',
  }),
  member('config', 'OpenSSLCipherList', {
    option: 'tls.ciphers',
    note: "OpenSSL's list format, as is; TLS 1.3 suites go in the same string by their names (a list without any keeps Node's TLS 1.3 suites); not with SSLEnabledCipherSuites",
  }),
  member('config', 'OpenSSLPrngSeedData', {
    note: "not needed, Node's OpenSSL seeds itself",
  }),
  member('config', 'ReuseSSLSession', {
    option: 'tls.sessionResumption',
    note: "session tickets; rxws's default is true; `tls.ticketKeys` shares their keys across a cluster, `tls.sessionTimeout` sets their life",
  }),
  member('config', 'SSLCACerts', {
    option: 'tls.ca',
    note: 'PEM text, trusted for client certificates (give it in the object or array form: a `Config()` line cannot hold its line breaks); one list with OpenSSLCAFile and OpenSSLCADir',
  }),
  member('config', 'SSLCheckCRL', {
    use: 'option `tls.crl` (lists as PEM text or files)',
    note: 'Node neither fetches CRLs from their distribution points nor checks OCSP: give the lists and renew them with `server.setTls()`; 0 maps to nothing',
  }),
  member('config', 'SSLCipherStrength', {
    use: 'option `tls.ciphers` (`HIGH`, `@SECLEVEL=n`)',
    note: 'Node has no minimum of bits: say it in the cipher list; the bits negotiated are `conn.tls.cipherBits`; 0 maps to nothing',
  }),
  member('config', 'SSLEnabledCipherSuites', {
    option: 'tls.ciphers',
    note: "IANA names, separated by commas or semicolons, become OpenSSL's; `*` maps to nothing (Node's default list); not with OpenSSLCipherList",
  }),
  member('config', 'SSLEnabledProtocols', {
    option: 'tls.minVersion',
    note: "the sum of version bits (TLS 1.0 192, TLS 1.1 768, TLS 1.2 3072, TLS 1.3 12288) becomes `tls.minVersion` and `tls.maxVersion`, a range without gaps; SSL 2.0 (12) and 3.0 (48) are refused; rxws's default is TLS 1.2 to 1.3",
  }),
  member('config', 'SSLEnableRenegotiation', {
    note: 'rxws always refuses renegotiation (TLS 1.3 has none), and OpenSSL always supports the renegotiation_info extension (RFC 5746): `true` maps to nothing, `false` cannot be mapped',
  }),
  member('config', 'SSLIncludeCertChain', {
    option: 'tls.includeChain',
    note: "sends the chain certificates given after the certificate; rxws's default is true",
  }),
  member('config', 'SSLNegotiatedCipher', {
    use: '`conn.tls.cipher.name`; `request.tls` in `onOpenRequest`',
    note: "read-only, per connection: OpenSSL's name of the suite",
  }),
  member('config', 'SSLNegotiatedCipherStrength', {
    use: '`conn.tls.cipherBits`',
    note: "read-only, per connection: bits of the bulk cipher's key (128, 256), read from the suite's name",
  }),
  member('config', 'SSLNegotiatedCipherSuite', {
    use: '`conn.tls.cipher.standardName`',
    note: "read-only, per connection: IANA's name of the suite",
  }),
  member('config', 'SSLNegotiatedKeyExchange', {
    note: "Node tells the key-exchange group on the client side only (`getEphemeralKeyInfo()`); a TLS 1.2 suite's OpenSSL name starts with its kind (`ECDHE-`, `DHE-`; `conn.tls.cipher.name`), and TLS 1.3 always uses (EC)DHE",
  }),
  member('config', 'SSLNegotiatedKeyExchangeStrength', {
    note: 'Node tells the key-exchange group on the client side only (`getEphemeralKeyInfo()`), so not its strength',
  }),
  member('config', 'SSLNegotiatedProtocol', {
    use: '`conn.tls.protocol`',
    note: "read-only, per connection: `'TLSv1.3'`, `'TLSv1.2'`, ...",
  }),
  member('config', 'SSLProvider', {
    note: 'not needed, Node always uses the OpenSSL it is built with',
  }),
  member('config', 'SSLSecurityFlags', {
    use: 'option `onClientCertificate` (an answer per verdict)',
    note: "instead of flags, answer true for the verdicts to let through (`'CERT_HAS_EXPIRED'`, ...); 0 maps to nothing",
  }),
  member('config', 'SSLServerCACerts', {
    note: "CAs for checking a server's certificate, which a server is never sent; the CAs for client certificates are SSLCACerts (`tls.ca`)",
  }),
  member('config', 'TLS12SignatureAlgorithms', {
    option: 'tls.sigalgs',
    note: "`sha256-rsa` becomes `RSA+SHA256`, and OpenSSL's names pass as they are; Node has one list for TLS 1.2 and 1.3: merged with TLS13SignatureAlgorithms",
  }),
  member('config', 'TLS12SupportedGroups', {
    option: 'tls.groups',
    note: "`ecdhe_secp256r1` becomes `P-256`, and OpenSSL's names pass as they are; Node has one list for TLS 1.2 and 1.3: merged with TLS13SupportedGroups",
  }),
  member('config', 'TLS13KeyShareGroups', {
    note: "not needed, a server answers with one of the client's key shares",
  }),
  member('config', 'TLS13SignatureAlgorithms', {
    option: 'tls.sigalgs',
    note: '`rsa_pss_sha256` becomes `rsa_pss_rsae_sha256:rsa_pss_pss_sha256`, other names (`ed25519`, `ecdsa_secp256r1_sha256`) pass as they are; merged with TLS12SignatureAlgorithms',
  }),
  member('config', 'TLS13SupportedGroups', {
    option: 'tls.groups',
    note: '`ecdhe_x25519` becomes `X25519`, `ffdhe_2048` `ffdhe2048`, ...; merged with TLS12SupportedGroups',
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
