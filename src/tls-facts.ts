/**
 * The TLS vocabulary the accept path, the open-request hook and connections share: what a TLS
 * handshake negotiated and the client certificate it carried. Types only.
 */

/** A certificate a peer presented, as a hook or a connection sees it. */
export interface PeerCertificate {
  /** The certificate, PEM. */
  readonly pem: string;
  /** Subject and issuer, one `key=value` per line as Node's `X509Certificate` prints them. */
  readonly subject: string;
  readonly issuer: string;
  /** Serial number, hexadecimal. */
  readonly serialNumber: string;
  /** SHA-256 fingerprint, `AB:CD:...`. */
  readonly fingerprint256: string;
  /** Validity, as the certificate states it (`'Jan  1 00:00:00 2030 GMT'`). */
  readonly validFrom: string;
  readonly validTo: string;
}

/**
 * What was negotiated on a TLS connection (IPWorks' SSLNegotiated* properties), visible to
 * `onOpenRequest` (`request.tls`) and on the connection (`conn.tls`). The key-exchange group is
 * not here: Node tells it on the client side only (`getEphemeralKeyInfo()`).
 */
export interface TlsFacts {
  /** `'TLSv1.3'`, `'TLSv1.2'`, ... */
  readonly protocol: string;
  /** The cipher suite: OpenSSL's name, IANA's name, and the version that defined it. */
  readonly cipher: {
    readonly name: string;
    readonly standardName: string;
    readonly version: string;
  };
  /** Bits of the bulk cipher's key (128, 256; 112 for 3DES), from its name. */
  readonly cipherBits: number | undefined;
  /** The host name the client asked for (SNI), if it sent one. */
  readonly servername: string | undefined;
  /** True when the session was resumed from a ticket. */
  readonly resumed: boolean;
  /** The client's certificate, when one was asked for and sent. */
  readonly peerCertificate: PeerCertificate | undefined;
  /**
   * The chain's verdict on the client's certificate: `'OK'`, or Node's verification error code
   * (`'CERT_HAS_EXPIRED'`, `'CERT_REVOKED'`, `'UNABLE_TO_VERIFY_LEAF_SIGNATURE'`, ...);
   * undefined when no certificate was asked for.
   */
  readonly verdict: string | undefined;
}

/** What `onClientCertificate` is asked (IPWorks' SSLClientAuthentication event). */
export interface ClientCertificateInfo {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly servername: string | undefined;
  /** The certificate the client sent; undefined when it sent none. */
  readonly certificate: PeerCertificate | undefined;
  /** `'OK'` or the verification error code (`'NO_CERTIFICATE'` when none was sent). */
  readonly verdict: string;
  /** What rxws recommends: true when the verdict is `'OK'`. The hook's answer overrides it. */
  readonly accept: boolean;
}

/**
 * What `onTlsRequest` is asked before the TLS handshake is answered (IPWorks'
 * SSLConnectionRequest), read from the client's ClientHello.
 */
export interface TlsRequestInfo {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The host name asked for (SNI), if any. */
  readonly servername: string | undefined;
  /** ALPN protocols offered, in the client's order, or empty. */
  readonly alpnProtocols: readonly string[];
  /** TLS versions offered (`['TLSv1.3', 'TLSv1.2']`). */
  readonly versions: readonly string[];
}
