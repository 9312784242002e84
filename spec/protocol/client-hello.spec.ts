import { readClientHello } from '../../src/protocol/client-hello';

/** A TLS record of type 22 around `body`. */
const record = (body: Buffer): Buffer =>
  Buffer.concat([Buffer.from([22, 3, 1, body.length >> 8, body.length & 0xff]), body]);

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const ext = (type: number, data: Buffer): Buffer =>
  Buffer.concat([u16(type), u16(data.length), data]);

/** A ClientHello with the given extensions (as a handshake message). */
function hello(extensions: Buffer[]): Buffer {
  const exts = Buffer.concat(extensions);
  const body = Buffer.concat([
    u16(0x0303),
    Buffer.alloc(32, 7), // random
    Buffer.from([0]), // session id
    u16(2),
    u16(0x1301), // one cipher suite
    Buffer.from([1, 0]), // compression: null
    u16(exts.length),
    exts,
  ]);
  return Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 0xff]), body]);
}

const sni = (name: string): Buffer => {
  const n = Buffer.from(name);
  return ext(0, Buffer.concat([u16(n.length + 3), Buffer.from([0]), u16(n.length), n]));
};
const alpn = (...protocols: string[]): Buffer => {
  const list = Buffer.concat(
    protocols.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])),
  );
  return ext(16, Buffer.concat([u16(list.length), list]));
};
const versions = (...v: number[]): Buffer =>
  ext(43, Buffer.concat([Buffer.from([v.length * 2]), ...v.map(u16)]));

describe('readClientHello()', () => {
  const full = hello([
    sni('example.test'),
    alpn('h2', 'http/1.1'),
    versions(0x2a2a, 0x0304, 0x0303),
  ]);

  it('reads SNI, ALPN offers and versions (GREASE left out)', () => {
    expect(readClientHello(record(full))).toEqual({
      state: 'done',
      hello: {
        servername: 'example.test',
        alpnProtocols: ['h2', 'http/1.1'],
        versions: ['TLSv1.3', 'TLSv1.2'],
      },
    });
  });

  it('takes the hello version when there is no supported_versions, and no extensions at all', () => {
    expect(readClientHello(record(hello([])))).toEqual({
      state: 'done',
      hello: { servername: undefined, alpnProtocols: [], versions: ['TLSv1.2'] },
    });
  });

  it('is partial until every byte of every record has arrived, across records', () => {
    const split = Buffer.concat([record(full.subarray(0, 10)), record(full.subarray(10))]);
    for (let n = 0; n < split.length; n++) {
      expect([n, readClientHello(split.subarray(0, n)).state]).toEqual([n, 'partial']);
    }
    expect(readClientHello(split)).toEqual(readClientHello(record(full)));
  });

  it.each([
    ['GET / HTTP/1.1\r\n', 'not a TLS handshake (a plain-text request on a TLS port?)'],
    [Buffer.from([22, 2, 0, 0, 1, 1]), 'not a TLS record version'],
    [Buffer.from([22, 3, 1, 0, 0]), 'an empty TLS record'],
    [record(Buffer.from([2, 0, 0, 1, 0])), 'the first handshake message is not a ClientHello'],
    [record(Buffer.from([1, 0x01, 0x00, 0x01])), 'a ClientHello over 65536 bytes'],
    [record(Buffer.from([1, 0, 0, 3, 3, 3, 0])), 'a truncated ClientHello'],
  ])('says what is wrong with %j', (bytes, reason) => {
    expect(readClientHello(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes))).toEqual({
      state: 'invalid',
      reason,
    });
  });
});
