/**
 * Reading a TLS ClientHello (RFC 8446 section 4.1.2; extensions of RFC 6066 section 3 (SNI),
 * RFC 7301 (ALPN) and RFC 8446 section 4.2.1 (supported_versions)) from the first bytes a client
 * sends, so the TLS stage can ask `onTlsRequest` before a single TLS byte is answered. Pure.
 */

/** What a ClientHello asks for. */
export interface ClientHelloInfo {
  /** The host name asked for (SNI), if any. */
  readonly servername: string | undefined;
  /** ALPN protocols offered, in the client's order (`['http/1.1']`), or empty. */
  readonly alpnProtocols: readonly string[];
  /** TLS versions offered (`['TLSv1.3', 'TLSv1.2']`): supported_versions, else the hello's own. */
  readonly versions: readonly string[];
}

export type ClientHelloResult =
  | { readonly state: 'partial' }
  | { readonly state: 'done'; readonly hello: ClientHelloInfo }
  | { readonly state: 'invalid'; readonly reason: string };

/** The largest ClientHello read (post-quantum key shares make hellos of ~2 KiB). */
export const MAX_CLIENT_HELLO = 64 * 1024;

const VERSION_NAMES: Readonly<Record<number, string>> = {
  0x0300: 'SSLv3',
  0x0301: 'TLSv1',
  0x0302: 'TLSv1.1',
  0x0303: 'TLSv1.2',
  0x0304: 'TLSv1.3',
};

const versionName = (v: number): string =>
  VERSION_NAMES[v] ?? `0x${v.toString(16).padStart(4, '0')}`;

/** GREASE values (RFC 8701) are not versions: left out. */
const isGrease = (v: number): boolean => (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);

const invalid = (reason: string): ClientHelloResult => ({ state: 'invalid', reason });

/**
 * Reads the ClientHello at the start of `data` (what the client has sent so far): `partial`
 * until all of it has arrived, `invalid` for bytes that are not one.
 */
export function readClientHello(data: Buffer): ClientHelloResult {
  // Records of type 22 (handshake) carry the hello, possibly over several records.
  const chunks: Buffer[] = [];
  let have = 0;
  let offset = 0;
  let needed = -1;
  while (needed < 0 || have < needed) {
    if (data.length < offset + 5) return { state: 'partial' };
    if (data[offset] !== 22) {
      return invalid(
        offset === 0
          ? 'not a TLS handshake (a plain-text request on a TLS port?)'
          : 'not a TLS handshake record',
      );
    }
    if (data[offset + 1] !== 3) return invalid('not a TLS record version');
    const length = data.readUInt16BE(offset + 3);
    if (length === 0) return invalid('an empty TLS record');
    if (data.length < offset + 5 + length) return { state: 'partial' };
    chunks.push(data.subarray(offset + 5, offset + 5 + length));
    have += length;
    offset += 5 + length;
    if (needed < 0 && have >= 4) {
      const head = Buffer.concat(chunks);
      if (head[0] !== 1) return invalid('the first handshake message is not a ClientHello');
      needed = 4 + head.readUIntBE(1, 3);
      if (needed > MAX_CLIENT_HELLO) return invalid(`a ClientHello over ${MAX_CLIENT_HELLO} bytes`);
    }
  }
  return parseBody(Buffer.concat(chunks).subarray(4, needed));
}

function parseBody(body: Buffer): ClientHelloResult {
  let p = 0;
  const need = (n: number): boolean => p + n <= body.length;
  if (!need(2 + 32 + 1)) return invalid('a truncated ClientHello');
  const legacyVersion = body.readUInt16BE(p);
  p += 2 + 32;
  p += 1 + body[p]; // session id
  if (!need(2)) return invalid('a truncated ClientHello');
  p += 2 + body.readUInt16BE(p); // cipher suites
  if (!need(1)) return invalid('a truncated ClientHello');
  p += 1 + body[p]; // compression methods
  let servername: string | undefined;
  let alpnProtocols: string[] = [];
  let versions: string[] = [versionName(legacyVersion)];
  if (p === body.length) return { state: 'done', hello: { servername, alpnProtocols, versions } };
  if (!need(2)) return invalid('a truncated ClientHello');
  const end = p + 2 + body.readUInt16BE(p);
  p += 2;
  if (end > body.length) return invalid('ClientHello extensions past its end');
  while (p + 4 <= end) {
    const type = body.readUInt16BE(p);
    const len = body.readUInt16BE(p + 2);
    const ext = body.subarray(p + 4, p + 4 + len);
    p += 4 + len;
    if (p > end) return invalid('a ClientHello extension past its end');
    if (type === 0 && ext.length >= 5 && ext[2] === 0) {
      const n = ext.readUInt16BE(3);
      servername = ext.subarray(5, 5 + n).toString('latin1');
    } else if (type === 16 && ext.length >= 2) {
      alpnProtocols = [];
      for (let q = 2; q < ext.length; q += 1 + ext[q]) {
        alpnProtocols.push(ext.subarray(q + 1, q + 1 + ext[q]).toString('latin1'));
      }
    } else if (type === 43 && ext.length >= 1) {
      versions = [];
      for (let q = 1; q + 1 < 1 + ext[0] && q + 1 < ext.length; q += 2) {
        const v = ext.readUInt16BE(q);
        if (!isGrease(v)) versions.push(versionName(v));
      }
    }
  }
  return { state: 'done', hello: { servername, alpnProtocols, versions } };
}
