import { testCerts } from './helpers/certs';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { join } from 'node:path';
import { DEFAULT_OPTIONS, resolveOptions } from '../src/options';
import { InvalidOptionError } from '../src/errors';
import { createServer } from '../src';

describe('resolveOptions', () => {
  it('applies the documented defaults', () => {
    const o = resolveOptions();
    expect(o).toMatchObject({
      host: '0.0.0.0',
      port: 0,
      backlog: 511,
      ipv6: false,
      exclusive: true,
      tcpNoDelay: true,
      keepAlive: false,
      inBufferSize: 65536,
      outBufferSize: 65536,
      maxQueue: { bytes: 8388608, messages: 10000 },
      overflow: 'error',
      maxPayload: 104857600,
      bufferMessage: true,
      maxFragments: 131072,
      maxFrameSize: 0,
      perMessageDeflate: false,
      closeStreamAfterTransfer: true,
      maxConnections: 1000,
      maxConnectionsPerAddress: 250,
      maxHandshakesPerAddress: 16,
      perAddressExempt: [
        '127.0.0.0/8',
        '::1',
        '10.0.0.0/8',
        '172.16.0.0/12',
        '192.168.0.0/16',
        '169.254.0.0/16',
        'fc00::/7',
        'fe80::/10',
      ],
      allowedClients: [],
      protocols: [],
      logLevel: 1,
      disconnectStatusCode: undefined,
      disconnectStatusDescription: '',
      waitForCloseResponse: true,
      closeTimeout: 5000,
      defaultTimeout: 0,
      heartbeat: { interval: 25000, timeout: 20000 },
      idleTimeout: 120000,
      handshakeTimeout: 10000,
      server: undefined,
      path: undefined,
    });
    expect(Object.isFrozen(o)).toBe(true);
    expect(Object.isFrozen(DEFAULT_OPTIONS)).toBe(true);
  });

  it('gives one address a quarter of maxConnections, rounded up, unless told otherwise', () => {
    expect(resolveOptions({ maxConnections: 10 }).maxConnectionsPerAddress).toBe(3);
    expect(
      resolveOptions({ maxConnections: 10, maxConnectionsPerAddress: Infinity })
        .maxConnectionsPerAddress,
    ).toBe(Infinity);
  });

  it('turns the heartbeat off with false', () => {
    expect(resolveOptions({ heartbeat: false }).heartbeat).toBe(false);
  });

  it('takes null as the default for overflow and disconnectStatusDescription', () => {
    const o = resolveOptions({ overflow: null, disconnectStatusDescription: null } as never);
    expect([o.overflow, o.disconnectStatusDescription]).toEqual(['error', '']);
  });

  it('lists the resolved options in the documented order', () => {
    expect(Object.keys(resolveOptions()).slice(0, 5)).toEqual([
      'host',
      'port',
      'backlog',
      'ipv6',
      'exclusive',
    ]);
  });

  it('listens on :: when ipv6 is true and no host is given', () => {
    expect(resolveOptions({ ipv6: true }).host).toBe('::');
    expect(resolveOptions({ ipv6: true, host: '::1' }).host).toBe('::1');
  });

  it('splits a comma-separated allowedClients string', () => {
    expect(resolveOptions({ allowedClients: '127.0.0.1, 10.0.0.0/8' }).allowedClients).toEqual([
      '127.0.0.1',
      '10.0.0.0/8',
    ]);
  });

  it('takes host names in allowedClients', () => {
    expect(resolveOptions({ allowedClients: 'localhost, 10.0.0.0/8' }).allowedClients).toEqual([
      'localhost',
      '10.0.0.0/8',
    ]);
  });

  it('fills a partial maxQueue from the defaults', () => {
    expect(resolveOptions({ maxQueue: { messages: 5 } }).maxQueue).toEqual({
      bytes: 8388608,
      messages: 5,
    });
    expect(resolveOptions({ maxQueue: { bytes: Infinity } }).maxQueue).toEqual({
      bytes: Infinity,
      messages: 10000,
    });
  });

  it('resolves perMessageDeflate true, and an object over the defaults', () => {
    expect(resolveOptions({ perMessageDeflate: true }).perMessageDeflate).toEqual({
      serverNoContextTakeover: true,
      threshold: 1024,
    });
    expect(resolveOptions({ perMessageDeflate: {} }).perMessageDeflate).toEqual({
      serverNoContextTakeover: true,
      threshold: 1024,
    });
    expect(
      resolveOptions({ perMessageDeflate: { serverNoContextTakeover: false, threshold: 0 } })
        .perMessageDeflate,
    ).toEqual({ serverNoContextTakeover: false, threshold: 0 });
    expect(resolveOptions({ perMessageDeflate: false }).perMessageDeflate).toBe(false);
  });

  it('keeps keepAlive time and interval', () => {
    expect(resolveOptions({ keepAlive: { time: 1000, interval: 500 } }).keepAlive).toEqual({
      time: 1000,
      interval: 500,
    });
  });

  const invalid: Array<[string, Record<string, unknown>, string]> = [
    ['host', { host: '' }, '"host" must be a non-empty string, got ""'],
    ['host', { host: 5 }, '"host" must be a non-empty string, got 5'],
    ['port', { port: -1 }, '"port" must be an integer from 0 to 65535, got -1'],
    ['port', { port: 65536 }, '"port" must be an integer from 0 to 65535, got 65536'],
    ['port', { port: '80' }, '"port" must be an integer from 0 to 65535, got "80"'],
    ['backlog', { backlog: 0 }, '"backlog" must be a positive integer, got 0'],
    ['ipv6', { ipv6: 'yes' }, '"ipv6" must be a boolean, got "yes"'],
    ['exclusive', { exclusive: 1 }, '"exclusive" must be a boolean, got 1'],
    ['tcpNoDelay', { tcpNoDelay: null }, '"tcpNoDelay" must be a boolean, got null'],
    [
      'keepAlive',
      { keepAlive: true },
      '"keepAlive" must be false or { time, interval? }, got true',
    ],
    [
      'keepAlive.time',
      { keepAlive: { time: -5 } },
      '"keepAlive.time" must be an integer number of milliseconds, got -5',
    ],
    [
      'keepAlive.interval',
      { keepAlive: { time: 1, interval: 0 } },
      '"keepAlive.interval" must be a positive integer number of milliseconds, got 0',
    ],
    ['inBufferSize', { inBufferSize: 0 }, '"inBufferSize" must be a positive integer, got 0'],
    [
      'outBufferSize',
      { outBufferSize: 1.5 },
      '"outBufferSize" must be a positive integer, got 1.5',
    ],
    ['maxPayload', { maxPayload: -1 }, '"maxPayload" must be a positive integer, got -1'],
    ['bufferMessage', { bufferMessage: 'yes' }, '"bufferMessage" must be a boolean, got "yes"'],
    [
      'maxFragments',
      { maxFragments: 1.5 },
      '"maxFragments" must be a non-negative integer, got 1.5',
    ],
    ['maxFrameSize', { maxFrameSize: -2 }, '"maxFrameSize" must be a non-negative integer, got -2'],
    [
      'perMessageDeflate',
      { perMessageDeflate: 'yes' },
      '"perMessageDeflate" must be a boolean or { serverNoContextTakeover?, threshold? }, got "yes"',
    ],
    [
      'perMessageDeflate.serverNoContextTakeover',
      { perMessageDeflate: { serverNoContextTakeover: 1 } },
      '"perMessageDeflate.serverNoContextTakeover" must be a boolean, got 1',
    ],
    [
      'perMessageDeflate.threshold',
      { perMessageDeflate: { threshold: -1 } },
      '"perMessageDeflate.threshold" must be a non-negative integer, got -1',
    ],
    [
      'perMessageDeflate.level',
      { perMessageDeflate: { level: 9 } },
      '"perMessageDeflate.level" is not a permessage-deflate option; known: serverNoContextTakeover, threshold',
    ],
    [
      'closeStreamAfterTransfer',
      { closeStreamAfterTransfer: 1 },
      '"closeStreamAfterTransfer" must be a boolean, got 1',
    ],
    ['maxQueue', { maxQueue: 5 }, '"maxQueue" must be { bytes?, messages? }, got 5'],
    [
      'maxQueue.bytes',
      { maxQueue: { bytes: -1 } },
      '"maxQueue.bytes" must be a non-negative integer or Infinity, got -1',
    ],
    [
      'maxQueue.messages',
      { maxQueue: { messages: 1.5 } },
      '"maxQueue.messages" must be a non-negative integer or Infinity, got 1.5',
    ],
    [
      'overflow',
      { overflow: 'block' },
      '"overflow" must be "error", "drop-newest", "drop-oldest" or "close", got "block"',
    ],
    [
      'maxConnections',
      { maxConnections: 0 },
      '"maxConnections" must be an integer from 1 to 100000, got 0',
    ],
    [
      'maxConnections',
      { maxConnections: 100001 },
      '"maxConnections" must be an integer from 1 to 100000, got 100001',
    ],
    [
      'allowedClients',
      { allowedClients: 5 },
      '"allowedClients" must be a string or an array of strings, got 5',
    ],
    [
      'allowedClients',
      { allowedClients: ['10.0.0.300'] },
      '"allowedClients" entry "10.0.0.300" is not an IP address, wildcard or CIDR block',
    ],
    [
      'allowedClients',
      { allowedClients: ['10.0.0.0/33'] },
      '"allowedClients" entry "10.0.0.0/33" is not a valid CIDR block',
    ],
    [
      'allowedClients',
      { allowedClients: ['10.*.x.1'] },
      '"allowedClients" entry "10.*.x.1" is not a valid IPv4 wildcard (use "*" for whole octets)',
    ],
    [
      'onConnectionRequest',
      { onConnectionRequest: true },
      '"onConnectionRequest" must be a function, got true',
    ],
    ['onOpenRequest', { onOpenRequest: 'x' }, '"onOpenRequest" must be a function, got "x"'],
    [
      'connectionPipeline',
      { connectionPipeline: [] },
      '"connectionPipeline" must be a function, got an array',
    ],
    ['openPipeline', { openPipeline: 1 }, '"openPipeline" must be a function, got 1'],
    [
      'scheduler',
      { scheduler: { schedule: () => undefined } },
      '"scheduler" must be an RxJS scheduler (with schedule() and now()), got an object',
    ],
    ['protocols', { protocols: ['a b'] }, '"protocols" must be a list of HTTP tokens, got "a b"'],
    ['logLevel', { logLevel: 4 }, '"logLevel" must be an integer from 0 to 3, got 4'],
    [
      'disconnectStatusCode',
      { disconnectStatusCode: 1005 },
      '"disconnectStatusCode" must be a close code a server may send (1000-1003, 1007-1014, 3000-4999), got 1005',
    ],
    [
      'disconnectStatusDescription',
      { disconnectStatusDescription: 'x'.repeat(124) },
      `"disconnectStatusDescription" must be a string of at most 123 UTF-8 bytes, got "${'x'.repeat(124)}"`,
    ],
    [
      'waitForCloseResponse',
      { waitForCloseResponse: 'no' },
      '"waitForCloseResponse" must be a boolean, got "no"',
    ],
    [
      'closeTimeout',
      { closeTimeout: 0 },
      '"closeTimeout" must be a positive integer number of milliseconds, got 0',
    ],
    [
      'defaultTimeout',
      { defaultTimeout: -1 },
      '"defaultTimeout" must be a non-negative integer number of seconds, got -1',
    ],
    [
      'handshakeTimeout',
      { handshakeTimeout: 0 },
      '"handshakeTimeout" must be a positive integer number of milliseconds, got 0',
    ],
    ['server', { server: {} }, '"server" must be an http.Server or https.Server, got an object'],
    ['path', { path: 'chat' }, '"path" must be a string starting with "/", got "chat"'],
    [
      'maxConnectionsPerAddress',
      { maxConnectionsPerAddress: 0 },
      '"maxConnectionsPerAddress" must be a positive integer or Infinity, got 0',
    ],
    [
      'maxHandshakesPerAddress',
      { maxHandshakesPerAddress: 2.5 },
      '"maxHandshakesPerAddress" must be a positive integer or Infinity, got 2.5',
    ],
    [
      'perAddressExempt',
      { perAddressExempt: ['10.0.0.0/40'] },
      '"perAddressExempt" entry "10.0.0.0/40" is not a valid CIDR block',
    ],
    [
      'heartbeat',
      { heartbeat: true },
      '"heartbeat" must be false or { interval, timeout }, got true',
    ],
    [
      'heartbeat.timeout',
      { heartbeat: { interval: 1000, timeout: 0 } },
      '"heartbeat.timeout" must be a positive integer number of milliseconds, got 0',
    ],
    [
      'idleTimeout',
      { idleTimeout: -1 },
      '"idleTimeout" must be a non-negative integer number of milliseconds, got -1',
    ],
    [
      'allowedClientsRefresh',
      { allowedClientsRefresh: -1 },
      '"allowedClientsRefresh" must be a non-negative integer number of milliseconds, got -1',
    ],
    [
      'perAddressExempt',
      { perAddressExempt: ['proxy.internal'] },
      '"perAddressExempt" entry "proxy.internal" is not an IP address, wildcard or CIDR block',
    ],
    [
      'allowedClients',
      { allowedClients: ['not a host'] },
      '"allowedClients" entry "not a host" is not an IP address, wildcard, CIDR block or host name',
    ],
    [
      'tls',
      { tls: 'cert.pem' },
      '"tls" must be an object ({ cert, key } or { pfx }, ...), got "cert.pem"',
    ],
    [
      'onClientCertificate',
      { onClientCertificate: () => true },
      '"onClientCertificate" needs "tls" with requestClientCert: true',
    ],
    ['onTlsRequest', { onTlsRequest: () => true }, '"onTlsRequest" needs "tls"'],
    [
      'backplane',
      { backplane: {} },
      '"backplane" must be a backplane (an object with attach()), got an object',
    ],
    ['maxConection', { maxConection: 5 }, 'unknown option "maxConection"'],
  ];

  it.each(invalid)('rejects a wrong %s with one exact sentence', (option, input, message) => {
    let thrown: unknown;
    try {
      resolveOptions(input as never);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(InvalidOptionError);
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as InvalidOptionError).message).toBe(message);
    expect((thrown as InvalidOptionError).code).toBe('ERR_INVALID_OPTION');
    expect((thrown as InvalidOptionError).option).toBe(option);
  });

  it('rejects options that are not an object', () => {
    expect(() => resolveOptions(42 as never)).toThrow('options must be an object, got 42');
  });

  it('accepts an http.Server for "server"', () => {
    const http = createHttpServer();
    expect(resolveOptions({ server: http, path: '/ws' }).server).toBe(http);
  });

  it('refuses "tls" together with "server": that server is given the certificates', () => {
    const certs = testCerts();
    try {
      expect(() =>
        resolveOptions({
          server: createHttpServer(),
          tls: { cert: certs.serverCert, key: certs.serverKey },
        }),
      ).toThrow(
        new InvalidOptionError(
          'tls',
          '"tls" cannot be combined with "server": give that https.Server the certificates',
        ),
      );
    } finally {
      certs.remove();
    }
  });
});

describe('the options table', () => {
  const source = readFileSync(join(__dirname, '../src/options.ts'), 'utf8');
  const names = Object.keys(resolveOptions());

  it.each(names)('documents %s with its default', (name) => {
    const doc = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*\\n\\s*${name}: `).exec(source);
    expect(doc?.[1]).toMatch(/Default/);
  });

  it('gives DEFAULT_OPTIONS exactly the fixed defaults resolveOptions() applies', () => {
    const resolved = resolveOptions() as unknown as Record<string, unknown>;
    for (const [name, value] of Object.entries(DEFAULT_OPTIONS)) {
      expect([name, resolved[name]]).toEqual([name, value]);
    }
    expect(Object.keys(DEFAULT_OPTIONS).sort()).toEqual(
      names
        .filter(
          (n) =>
            ![
              'host',
              'maxConnectionsPerAddress',
              'onConnectionRequest',
              'onOpenRequest',
              'disconnectStatusCode',
              'server',
              'path',
              'tls',
              'onClientCertificate',
              'onTlsRequest',
              'backplane',
              'connectionPipeline',
              'openPipeline',
              'scheduler',
            ].includes(n),
        )
        .sort(),
    );
  });
});

describe('createServer', () => {
  it('throws InvalidOptionError at once for an invalid option', () => {
    expect(() => createServer({ port: -1 })).toThrow(
      new InvalidOptionError('port', '"port" must be an integer from 0 to 65535, got -1'),
    );
  });
});
