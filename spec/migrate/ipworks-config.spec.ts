import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, UnmappedSettingError } from '../../src/errors';
import {
  fromIPWorksConfig,
  type FromIPWorksConfigOptions,
  type IPWorksConfig,
} from '../../src/migrate/ipworks-config';
import { TLS_MEMBERS } from '../../src/migrate/ipworks-tls';
import { resolveOptions, type ServerOptions } from '../../src/options';
import type { TlsOptions } from '../../src/transport/tls-options';
import { testCerts, type TestCerts } from '../helpers/certs';
import { optionOf, readDocRows, type DocRow } from './ipworks-docs';

let c: TestCerts;
beforeAll(() => {
  c = testCerts();
  // A PEM store as IPWorks reads one (PEMKeyFile): the certificate and its key in one file.
  writeFileSync(c.file('server-and-key.pem'), `${c.serverCert}${c.serverKey}`);
  mkdirSync(c.file('cadir'), { recursive: true });
  writeFileSync(join(c.file('cadir'), 'ca.pem'), c.caCert);
});
afterAll(() => c.remove());

/** What `fromIPWorksConfig()` threw, for exact assertions. */
function thrown(
  config: IPWorksConfig,
  ignore?: readonly string[],
  options: FromIPWorksConfigOptions = {},
): Error {
  try {
    fromIPWorksConfig(config, ignore ? { ...options, ignore } : options);
  } catch (err) {
    return err as Error;
  }
  throw new Error(`fromIPWorksConfig(${JSON.stringify(config)}) did not throw`);
}

/** The message of the error `config` throws, checking its class and code. */
function unmapped(config: IPWorksConfig, options?: FromIPWorksConfigOptions): string {
  const err = thrown(config, undefined, options);
  expect(err).toBeInstanceOf(UnmappedSettingError);
  expect((err as UnmappedSettingError).code).toBe('ERR_UNMAPPED_SETTING');
  return err.message;
}

function invalid(config: IPWorksConfig, options?: FromIPWorksConfigOptions): string {
  const err = thrown(config, undefined, options);
  expect(err).toBeInstanceOf(InvalidArgumentError);
  expect((err as InvalidArgumentError).code).toBe('ERR_INVALID_ARGUMENT');
  return err.message;
}

/**
 * A value for every member the docs say is mapped: as IPWorks users write it, and the option
 * value it must become. The test below checks this table covers exactly those members.
 */
const SAMPLES: Readonly<Record<string, readonly [string, ServerOptions]>> = {
  ConnectionBacklog: ['5', { backlog: 5 }],
  DefaultTimeout: ['30', { defaultTimeout: 30 }],
  LocalHost: ['127.0.0.1', { host: '127.0.0.1' }],
  LocalPort: ['8080', { port: 8080 }],
  BufferMessage: ['False', { bufferMessage: false }],
  DisconnectStatusCode: ['4000', { disconnectStatusCode: 4000 }],
  DisconnectStatusDescription: ['bye', { disconnectStatusDescription: 'bye' }],
  MaxFrameSize: ['262144', { maxFrameSize: 262144 }],
  WaitForCloseResponse: ['0', { waitForCloseResponse: false }],
  AllowedClients: [
    '127.0.0.1, 192.168.1.*,10.0.0.0/8',
    { allowedClients: ['127.0.0.1', '192.168.1.*', '10.0.0.0/8'] },
  ],
  BindExclusively: ['false', { exclusive: false }],
  CloseStreamAfterTransfer: ['FALSE', { closeStreamAfterTransfer: false }],
  DefaultConnectionTimeout: ['30', { handshakeTimeout: 30000 }],
  InBufferSize: ['131072', { inBufferSize: 131072 }],
  KeepAliveInterval: ['1000', { keepAlive: { time: 0, interval: 1000 } }],
  KeepAliveTime: ['60000', { keepAlive: { time: 60000 } }],
  MaxConnections: ['5000', { maxConnections: 5000 }],
  OutBufferSize: ['262144', { outBufferSize: 262144 }],
  TcpNoDelay: ['false', { tcpNoDelay: false }],
  UseIPv6: ['true', { ipv6: true }],
  LogLevel: ['2', { logLevel: 2 }],
};

/** The certificate TLS samples are given, as fromIPWorksConfig()'s `certificate` option. */
const certificate = (): { cert: string; key: string } => ({
  cert: c.file('server.crt'),
  key: c.file('server.key'),
});

/**
 * A value for every TLS member the docs map to a `tls` field: the configuration it is given in
 * (TLS on, with `certificate` unless the configuration names its own), and the `tls` option it
 * must make.
 */
function tlsSamples(): Record<
  string,
  { config: IPWorksConfig; options?: FromIPWorksConfigOptions; tls: TlsOptions }
> {
  const on = (setting: string): IPWorksConfig => `UseSSL=true\n${setting}`;
  const withCert = { certificate: certificate() };
  const pfxStore = `UseSSL=true\nSSLCertStoreType=PFXFile\nSSLCertStore=${c.file('server.p12')}\nSSLCertStorePassword=pfx-pass`;
  const pfx = { pfx: c.file('server.p12'), passphrase: 'pfx-pass' };
  return {
    UseSSL: { config: 'UseSSL=true', options: withCert, tls: certificate() },
    SSLAuthenticateClients: {
      config: on('SSLAuthenticateClients=true'),
      options: withCert,
      tls: { ...certificate(), requestClientCert: true },
    },
    SSLCertStore: { config: pfxStore, tls: pfx },
    SSLCertStorePassword: { config: pfxStore, tls: pfx },
    SSLCertSubject: {
      config: on(
        `SSLCertStoreType=PEMKeyFile\nSSLCertStore=${c.file('server-and-key.pem')}\nSSLCertSubject=CN=localhost`,
      ),
      tls: { cert: c.serverCert, key: c.serverKey, certSubject: 'CN=localhost' },
    },
    SSLEnabledProtocols: {
      config: on('SSLEnabledProtocols=3072'),
      options: withCert,
      tls: { ...certificate(), minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' },
    },
    SSLEnabledCipherSuites: {
      config: on(
        'SSLEnabledCipherSuites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256',
      ),
      options: withCert,
      tls: { ...certificate(), ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256' },
    },
    OpenSSLCipherList: {
      config: on('OpenSSLCipherList=HIGH:!aNULL'),
      options: withCert,
      tls: { ...certificate(), ciphers: 'HIGH:!aNULL' },
    },
    TLS12SignatureAlgorithms: {
      config: on('TLS12SignatureAlgorithms=sha256-ecdsa,sha384-ecdsa'),
      options: withCert,
      tls: { ...certificate(), sigalgs: 'ECDSA+SHA256:ECDSA+SHA384' },
    },
    TLS13SignatureAlgorithms: {
      config: on('TLS13SignatureAlgorithms=ecdsa_secp256r1_sha256,rsa_pss_sha256'),
      options: withCert,
      tls: {
        ...certificate(),
        sigalgs: 'ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256:rsa_pss_pss_sha256',
      },
    },
    TLS12SupportedGroups: {
      config: on('TLS12SupportedGroups=ecdhe_secp256r1,ecdhe_secp384r1'),
      options: withCert,
      tls: { ...certificate(), groups: 'P-256:P-384' },
    },
    TLS13SupportedGroups: {
      config: on('TLS13SupportedGroups=ecdhe_x25519,ffdhe_2048'),
      options: withCert,
      tls: { ...certificate(), groups: 'X25519:ffdhe2048' },
    },
    // A Config() line cannot hold line breaks: PEM text comes in the array (or object) form.
    SSLCACerts: {
      config: ['UseSSL=true', `SSLCACerts=${c.caCert}`],
      options: withCert,
      tls: { ...certificate(), ca: [c.caCert.trim()] },
    },
    OpenSSLCAFile: {
      config: on(`OpenSSLCAFile=${c.file('ca.crt')}`),
      options: withCert,
      tls: { ...certificate(), ca: [c.file('ca.crt')] },
    },
    OpenSSLCADir: {
      config: on(`OpenSSLCADir=${c.file('cadir')}`),
      options: withCert,
      tls: { ...certificate(), ca: [c.file('cadir')] },
    },
    SSLIncludeCertChain: {
      config: on('SSLIncludeCertChain=false'),
      options: withCert,
      tls: { ...certificate(), includeChain: false },
    },
    ReuseSSLSession: {
      config: on('ReuseSSLSession=false'),
      options: withCert,
      tls: { ...certificate(), sessionResumption: false },
    },
  };
}

/** The TLS sample names, known before the certificates are made. */
const TLS_SAMPLE_NAMES = [
  'UseSSL',
  'SSLAuthenticateClients',
  'SSLCertStore',
  'SSLCertStorePassword',
  'SSLCertSubject',
  'SSLEnabledProtocols',
  'SSLEnabledCipherSuites',
  'OpenSSLCipherList',
  'TLS12SignatureAlgorithms',
  'TLS13SignatureAlgorithms',
  'TLS12SupportedGroups',
  'TLS13SupportedGroups',
  'SSLCACerts',
  'OpenSSLCAFile',
  'OpenSSLCADir',
  'SSLIncludeCertChain',
  'ReuseSSLSession',
];

describe('fromIPWorksConfig', () => {
  describe('maps every member the docs table maps', () => {
    const rows = readDocRows();
    const mapped = rows.filter((r) => optionOf(r) !== undefined);

    const isTls = (r: DocRow): boolean => (optionOf(r) as string).split('.')[0] === 'tls';

    it('has a sample for exactly the members docs/ipworks.md maps to an option', () => {
      expect([...Object.keys(SAMPLES), ...TLS_SAMPLE_NAMES].sort()).toEqual(
        mapped.map((r) => r.name).sort(),
      );
      expect(Object.keys(tlsSamples()).sort()).toEqual([...TLS_SAMPLE_NAMES].sort());
    });

    it.each(mapped.filter((r) => !isTls(r)).map((r) => [r.name, optionOf(r) as string]))(
      'maps %s to option %s, and createServer() accepts the value',
      (name, option) => {
        const [given, expected] = SAMPLES[name];
        const fromText = fromIPWorksConfig(`${name}=${given}`);
        expect(fromText).toEqual(expected);
        expect(Object.keys(fromText)).toEqual([option.split('.')[0]]);
        // Names are case-insensitive, as in IPWorks; the object form reads the same.
        expect(fromIPWorksConfig({ [name.toLowerCase()]: given })).toEqual(expected);
        expect(() => resolveOptions(fromText)).not.toThrow();
      },
    );

    it.each(mapped.filter(isTls).map((r) => [r.name, optionOf(r) as string]))(
      'maps %s to option %s with UseSSL=true, and createServer() accepts the value',
      (name, option) => {
        const { config, options, tls } = tlsSamples()[name];
        const result = fromIPWorksConfig(config, options);
        expect(result).toEqual({ tls });
        if (option !== 'tls') expect(result.tls).toHaveProperty(option.slice('tls.'.length));
        expect(() => resolveOptions(result)).not.toThrow();
      },
    );

    // A name a connection field and an event share is taken as the field (a value, as a setting).
    const shadowed = (r: DocRow): boolean =>
      r.kind === 'event' && rows.some((o) => o.kind === 'field' && o.name === r.name);

    // Rows whose value decides: "`false` maps to nothing", "0 maps to nothing", ...; and the
    // certificate's store type, read with the store (tested under TLS below).
    const valueDecides = (r: DocRow): boolean =>
      /maps to nothing/.test(r.note) || TLS_MEMBERS.has(r.name);

    it.each(
      rows
        .filter((r) => optionOf(r) === undefined && !valueDecides(r))
        .filter((r) => !shadowed(r))
        .map((r) => [r.kind, r.name, r.note]),
    )('refuses %s %s with its reason', (kind, name, note) => {
      const err = thrown(`${name.replace('[ConnectionId]', '[1]')}=1`) as UnmappedSettingError;
      expect(err).toBeInstanceOf(UnmappedSettingError);
      expect(err.message).toContain(`"${name}"`);
      expect(err.message).toContain(note);
      expect(err.message).toMatch(
        kind === 'property' || kind === 'config' ? /has no rxws option/ : /not a setting/,
      );
    });

    it.each(
      rows
        .filter((r) => optionOf(r) === undefined && r.note.includes('`false` maps to nothing'))
        .map((r) => [r.name, r.note]),
    )('maps %s=false to nothing and refuses true', (name, note) => {
      expect(fromIPWorksConfig(`${name}=false`)).toEqual({});
      expect(fromIPWorksConfig({ [name]: false })).toEqual({});
      expect(unmapped(`${name}=true`)).toContain(`"${name}" has no rxws option`);
      expect(unmapped(`${name}=true`)).toContain(note);
    });

    it.each(
      rows.filter((r) => r.note.includes('; 0 maps to nothing')).map((r) => [r.name, r.note]),
    )('maps %s=0 to nothing and refuses 1', (name, note) => {
      expect(fromIPWorksConfig(`${name}=0`)).toEqual({});
      expect(fromIPWorksConfig({ [name]: 0 })).toEqual({});
      expect(unmapped(`${name}=1`)).toBe(
        `IPWorks config setting "${name}" has no rxws option: use ${rows.find((r) => r.name === name)?.rxws}; ${note}`,
      );
    });
  });

  describe('reads the forms users have', () => {
    it.each<[string, IPWorksConfig, ServerOptions]>([
      ['one Config() string', 'BufferMessage=false', { bufferMessage: false }],
      ['an empty string', '', {}],
      [
        'settings separated by ";"',
        'LocalPort=8080;LocalHost=127.0.0.1; ;',
        { port: 8080, host: '127.0.0.1' },
      ],
      [
        'one per line, blank and # lines skipped, CRLF too',
        '# migrated from the service\r\n\r\nLocalPort=8080\r\n  BufferMessage=true; MaxConnections=5000\n',
        { port: 8080, bufferMessage: true, maxConnections: 5000 },
      ],
      ['names in any case, spaces around', '  bufferMESSAGE = TRUE ; ', { bufferMessage: true }],
      [
        'a quoted value, keeping its ";" and spaces',
        'DisconnectStatusDescription=" going away; back soon ";LocalPort=1',
        { disconnectStatusDescription: ' going away; back soon ', port: 1 },
      ],
      [
        'an unquoted value, trimmed, "=" kept',
        'DisconnectStatusDescription=  a=b  ',
        { disconnectStatusDescription: 'a=b' },
      ],
      [
        'an array of Config() strings, each value verbatim',
        ['DisconnectStatusDescription= a;b"c', ' LocalPort =8080'],
        { disconnectStatusDescription: ' a;b"c', port: 8080 },
      ],
      [
        'an object of name to value, undefined skipped',
        {
          LocalPort: 8080,
          bufferMessage: 'true',
          TcpNoDelay: 0,
          AllowedClients: ['::1', '10.0.0.0/8'],
          UseIPv6: 2,
          LocalHost: undefined,
        },
        {
          port: 8080,
          bufferMessage: true,
          tcpNoDelay: false,
          allowedClients: ['::1', '10.0.0.0/8'],
          ipv6: true,
        },
      ],
    ])('%s', (_, config, expected) => {
      const options = fromIPWorksConfig(config);
      expect(options).toEqual(expected);
      expect(() => resolveOptions(options)).not.toThrow();
    });
  });

  describe('converts values and units', () => {
    it.each<[string, ServerOptions]>([
      ['BufferMessage=1', { bufferMessage: true }],
      ['BufferMessage=True', { bufferMessage: true }],
      ['BufferMessage=0', { bufferMessage: false }],
      ['MaxConnections=+5000', { maxConnections: 5000 }],
      ['DefaultConnectionTimeout=30', { handshakeTimeout: 30000 }],
      ['DefaultConnectionTimeout=0', {}],
      [
        'KeepAliveTime=60000\nKeepAliveInterval=5000',
        { keepAlive: { time: 60000, interval: 5000 } },
      ],
      [
        'KeepAliveInterval=5000;KeepAliveTime=60000',
        { keepAlive: { time: 60000, interval: 5000 } },
      ],
      ['KeepAliveTime=0', { keepAlive: { time: 0 } }],
      ['UseIPv6=0', { ipv6: false }],
      ['UseIPv6=1', { ipv6: true }],
      ['UseIPv6=2', { ipv6: true }],
      ['UseIPv6=False', { ipv6: false }],
      ['LocalHost=', {}],
      ['LocalHost=  ::1 ', { host: '::1' }],
      ['AllowedClients=', { allowedClients: [] }],
      ['AllowedClients=*', { allowedClients: ['*'] }],
      ['DisconnectStatusDescription=', { disconnectStatusDescription: '' }],
      ['Listening=0;UseSSL=false;SSLAuthenticateClients=False;LogSSLPackets=false', {}],
    ])('%s', (config, expected) => {
      const options = fromIPWorksConfig(config);
      expect(options).toEqual(expected);
      expect(() => resolveOptions(options)).not.toThrow();
    });
  });

  describe('throws InvalidArgumentError naming the setting and the value', () => {
    it.each<[string, IPWorksConfig, string]>([
      [
        'a boolean it cannot read',
        'BufferMessage=maybe',
        'IPWorks config setting "BufferMessage" must be true, false, 1 or 0, got "maybe"',
      ],
      [
        'a number as a boolean',
        { WaitForCloseResponse: 2 },
        'IPWorks config setting "WaitForCloseResponse" must be true, false, 1 or 0, got 2',
      ],
      [
        'a fraction as an integer',
        'LocalPort=80.5',
        'IPWorks property "LocalPort" must be an integer, got "80.5"',
      ],
      [
        'a fraction given as a number',
        { DefaultTimeout: 1.5 },
        'IPWorks property "DefaultTimeout" must be an integer, got 1.5',
      ],
      [
        'a number as text',
        { DisconnectStatusDescription: 5 },
        'IPWorks config setting "DisconnectStatusDescription" must be a string, got 5',
      ],
      [
        'a UseIPv6 out of 0, 1, 2',
        'UseIPv6=3',
        'IPWorks config setting "UseIPv6" must be true, false, 0, 1 or 2, got "3"',
      ],
      [
        'a list of the wrong kind',
        { AllowedClients: true },
        'IPWorks config setting "AllowedClients" must be a comma-separated string or an array of strings, got true',
      ],
      [
        'a value outside the option range',
        'MaxConnections=200000',
        'IPWorks config setting "MaxConnections" set to "200000": "maxConnections" must be an integer from 1 to 100000, got 200000',
      ],
      [
        'a port outside 0-65535',
        'LocalPort=70000',
        'IPWorks property "LocalPort" set to "70000": "port" must be an integer from 0 to 65535, got 70000',
      ],
      [
        'a negative timeout, after its conversion to ms',
        'DefaultConnectionTimeout=-5',
        'IPWorks config setting "DefaultConnectionTimeout" set to "-5": "handshakeTimeout" must be a positive integer number of milliseconds, got -5000',
      ],
      [
        'a keep-alive interval of 0',
        'KeepAliveTime=1000;KeepAliveInterval=0',
        'IPWorks config setting "KeepAliveInterval" set to "0": "keepAlive.interval" must be a positive integer number of milliseconds, got 0',
      ],
      [
        'a close code a server may not send',
        'DisconnectStatusCode=1005',
        'IPWorks config setting "DisconnectStatusCode" set to "1005": "disconnectStatusCode" must be a close code a server may send (1000-1003, 1007-1014, 3000-4999), got 1005',
      ],
      [
        'a log level past 3',
        'LogLevel=4',
        'IPWorks config setting "LogLevel" set to "4": "logLevel" must be an integer from 0 to 3, got 4',
      ],
      [
        'a setting given twice, whatever the case',
        'LocalPort=1\nlocalport=2',
        'IPWorks property "LocalPort" is given twice; keep one',
      ],
    ])('%s', (_, config, message) => {
      expect(invalid(config)).toBe(message);
    });

    it('passes on what the option check says of an AllowedClients entry', () => {
      const check = (() => {
        try {
          resolveOptions({ allowedClients: ['10.0.0.1', '10.0.0.0/40'] });
        } catch (err) {
          return (err as Error).message;
        }
        throw new Error('resolveOptions accepted 10.0.0.0/40');
      })();
      expect(invalid('AllowedClients=10.0.0.1, 10.0.0.0/40')).toBe(
        `IPWorks config setting "AllowedClients" set to "10.0.0.1, 10.0.0.0/40": ${check}`,
      );
    });

    it('reports a bad value before settings it cannot map', () => {
      expect(invalid('UseSSL=true;LocalPort=70000')).toBe(
        'IPWorks property "LocalPort" set to "70000": "port" must be an integer from 0 to 65535, got 70000',
      );
    });

    it('keeps the option error as its cause', () => {
      const err = thrown('LocalPort=70000');
      expect((err.cause as { code: string }).code).toBe('ERR_INVALID_OPTION');
    });
  });

  describe('throws InvalidArgumentError for a configuration written wrong', () => {
    it.each<[string, unknown, string]>([
      [
        'a name without "="',
        'BufferMessage',
        'IPWorks config "BufferMessage" has no "=": give each setting as Name=Value',
      ],
      [
        'a Config() read among settings',
        'LocalPort=1;BufferMessage',
        'IPWorks config "BufferMessage" has no "=": give each setting as Name=Value',
      ],
      [
        'a quote left open',
        'DisconnectStatusDescription="bye',
        'IPWorks config "DisconnectStatusDescription=\\"bye" has a quoted value without its closing quote',
      ],
      [
        'text after a quoted value',
        'DisconnectStatusDescription="bye" now',
        'IPWorks config "DisconnectStatusDescription=\\"bye\\" now" has text after its quoted value',
      ],
      ['no name', '=1', 'IPWorks config "=1" does not start with a setting name (Name=Value)'],
      [
        'a name with a space',
        'Buffer Message=true',
        'IPWorks config "Buffer Message=true" does not start with a setting name (Name=Value)',
      ],
      [
        'an array element without "="',
        ['LocalPort'],
        'IPWorks config "LocalPort" has no "=": give each setting as Name=Value',
      ],
      [
        'an array element that is not a string',
        ['LocalPort=1', 5],
        'fromIPWorksConfig() takes an array of strings, got an element 5',
      ],
      [
        'a number',
        42,
        'fromIPWorksConfig() takes a string, an array of strings or an object, got 42',
      ],
      [
        'null',
        null,
        'fromIPWorksConfig() takes a string, an array of strings or an object, got null',
      ],
      [
        'an object value of the wrong kind',
        { LocalPort: null },
        'IPWorks setting "LocalPort" must be a string, a number, a boolean or an array of strings, got null',
      ],
    ])('%s', (_, config, message) => {
      expect(invalid(config as IPWorksConfig)).toBe(message);
    });
  });

  describe('throws UnmappedSettingError for settings without an rxws option', () => {
    it('says why for a method', () => {
      expect(unmapped('DoEvents=1')).toBe(
        '"DoEvents" is an IPWorks method, not a setting: not needed in Node, whose event loop runs continuously and delivers every event as it happens',
      );
    });

    it('says what to use instead for a read-only TLS value', () => {
      expect(unmapped('SSLNegotiatedProtocol=TLSv1.3')).toBe(
        "IPWorks config setting \"SSLNegotiatedProtocol\" has no rxws option: use `conn.tls.protocol`; read-only, per connection: `'TLSv1.3'`, `'TLSv1.2'`, ...",
      );
    });

    it('says what to use instead for a run-time value', () => {
      expect(unmapped('Connections=1')).toBe(
        'IPWorks property "Connections" has no rxws option: use `server.connections` (a `ReadonlyMap` by id), `connections$`; read at run time, not set',
      );
    });

    it('finds an indexed setting by any index', () => {
      const err = thrown('MessageLength[3]=100') as UnmappedSettingError;
      expect(err.message).toBe(
        'IPWorks config setting "MessageLength[ConnectionId]" has no rxws option: use `conn.sendStream(source, { length })`; a length per message, declared when it is sent in pieces',
      );
      expect(err.settings).toEqual([{ name: 'MessageLength[3]', message: err.message }]);
    });

    it('takes the connection field for a name a field and an event share', () => {
      expect(unmapped('Connected=false')).toBe(
        '"Connected" is an IPWorks connection field, not a setting: use `conn.connected`, `conn.state`; `conn.disconnect()`; read-only: to close, call `disconnect()`',
      );
    });

    it.each([
      [
        'BufferMesage=true',
        '"BufferMesage" is not a member of IPWorks WebSocketServer; did you mean "BufferMessage"?',
      ],
      [
        'BufferMessage[2]=true',
        '"BufferMessage[2]" is not a member of IPWorks WebSocketServer; did you mean "BufferMessage"?',
      ],
      ['Frobnicate=1', '"Frobnicate" is not a member of IPWorks WebSocketServer'],
      ['Foo=1', '"Foo" is not a member of IPWorks WebSocketServer'],
    ])('names an unknown setting: %s', (config, message) => {
      expect(unmapped(config)).toBe(message);
    });

    it('lists every one at once, in the order given, after reading the whole configuration', () => {
      const err = thrown(
        'LocalPort=8080\nUseSSL=true;DoEvents=1\nBufferMessage=true\nSSLProvider=2',
      ) as UnmappedSettingError;
      expect(err).toBeInstanceOf(UnmappedSettingError);
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe('UnmappedSettingError');
      expect(err.message).toBe(
        [
          '3 IPWorks settings cannot be mapped to rxws options:',
          '- IPWorks property "UseSSL" is true, but the configuration gives no certificate rxws can read: give SSLCertStoreType PFXFile, PFXBlob, PEMKeyFile or PEMKeyBlob with SSLCertStore, or the `certificate` option of fromIPWorksConfig() ({ cert, key } or { pfx, passphrase })',
          '- "DoEvents" is an IPWorks method, not a setting: not needed in Node, whose event loop runs continuously and delivers every event as it happens',
          '- IPWorks config setting "SSLProvider" has no rxws option: not needed, Node always uses the OpenSSL it is built with',
        ].join('\n'),
      );
      expect(err.settings.map((s) => s.name)).toEqual(['UseSSL', 'DoEvents', 'SSLProvider']);
      expect(Object.isFrozen(err.settings)).toBe(true);
    });
  });

  describe('ignore', () => {
    it('leaves out the settings named, mapped or not, in any case', () => {
      expect(
        fromIPWorksConfig('UseSSL=true;SSLCertStore=MY;LocalPort=8080;BufferMessage=false', {
          ignore: ['usessl', 'SSLCERTSTORE', 'BufferMessage'],
        }),
      ).toEqual({ port: 8080 });
    });

    it.each([['MessageLength'], ['MessageLength[ConnectionId]'], ['messagelength[3]']])(
      'leaves out MessageLength[3] when told %s',
      (name) => {
        expect(fromIPWorksConfig('MessageLength[3]=100;LocalPort=1', { ignore: [name] })).toEqual({
          port: 1,
        });
      },
    );

    it('must be an array of names', () => {
      expect(() => fromIPWorksConfig('LocalPort=1', { ignore: 'UseSSL' as never })).toThrow(
        new InvalidArgumentError('"ignore" must be an array of setting names, got "UseSSL"'),
      );
    });

    it('still reports the settings it does not name', () => {
      expect(thrown('UseSSL=true;DoEvents=1', ['UseSSL']).message).toBe(
        '"DoEvents" is an IPWorks method, not a setting: not needed in Node, whose event loop runs continuously and delivers every event as it happens',
      );
    });
  });

  describe('TLS', () => {
    const withCert = (): FromIPWorksConfigOptions => ({ certificate: certificate() });

    it('makes the tls option from a whole IPWorks TLS configuration', () => {
      const options = fromIPWorksConfig([
        'LocalPort=8443',
        'UseSSL=True',
        'SSLCertStoreType=cstPFXFile',
        `SSLCertStore=${c.file('server.p12')}`,
        'SSLCertStorePassword=pfx-pass',
        'SSLAuthenticateClients=1',
        `SSLCACerts=${c.caCert}`,
        `OpenSSLCAFile=${c.file('ca.crt')}`,
        'SSLEnabledProtocols=15360',
        'SSLEnabledCipherSuites=TLS_AES_256_GCM_SHA384;TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
        'TLS12SignatureAlgorithms=sha256-ecdsa,sha256-rsa',
        'TLS13SignatureAlgorithms=ecdsa_secp256r1_sha256,rsa_pss_sha256,ed25519',
        'TLS12SupportedGroups=ecdhe_secp256r1,ecdhe_secp384r1',
        'TLS13SupportedGroups=ecdhe_x25519,ecdhe_secp256r1,ffdhe_2048',
        'SSLIncludeCertChain=true',
        'ReuseSSLSession=false',
        'SSLEnableRenegotiation=true',
        'SSLCheckCRL=0',
        'LogSSLPackets=false',
      ]);
      expect(options).toEqual({
        port: 8443,
        tls: {
          pfx: c.file('server.p12'),
          passphrase: 'pfx-pass',
          requestClientCert: true,
          ca: [c.caCert.trim(), c.file('ca.crt')],
          minVersion: 'TLSv1.2',
          maxVersion: 'TLSv1.3',
          ciphers: 'TLS_AES_256_GCM_SHA384:ECDHE-ECDSA-AES256-GCM-SHA384',
          // ECDSA+SHA256 is ecdsa_secp256r1_sha256: one list, each algorithm once.
          sigalgs: 'ECDSA+SHA256:RSA+SHA256:rsa_pss_rsae_sha256:rsa_pss_pss_sha256:ed25519',
          groups: 'P-256:P-384:X25519:ffdhe2048',
          includeChain: true,
          sessionResumption: false,
        },
      });
      expect(() => resolveOptions(options)).not.toThrow();
    });

    it('reads every certificate store Node can: PFXFile, PFXBlob, PEMKeyFile, PEMKeyBlob', () => {
      const from = (type: string, store: string, more: string[] = []) =>
        fromIPWorksConfig([
          'UseSSL=true',
          `SSLCertStoreType=${type}`,
          `SSLCertStore=${store}`,
          ...more,
        ]);
      expect(from('2', c.file('server.p12'), ['SSLCertStorePassword=pfx-pass'])).toEqual({
        tls: { pfx: c.file('server.p12'), passphrase: 'pfx-pass' },
      });
      expect(from('PFXBlob', c.pfx.toString('base64'), ['SSLCertStorePassword=pfx-pass'])).toEqual({
        tls: { pfx: c.pfx, passphrase: 'pfx-pass' },
      });
      const pem = { tls: { cert: c.serverCert, key: c.serverKey } };
      expect(from('6', c.file('server-and-key.pem'))).toEqual(pem);
      expect(from('cstPEMKeyBlob', `${c.serverKey}${c.serverCert}`)).toEqual(pem);
      // A Subject of "*" (the first certificate) is what rxws does.
      expect(from('PEMKeyFile', c.file('server-and-key.pem'), ['SSLCertSubject=*'])).toEqual(pem);
    });

    it('takes the certificate option instead of the certificate settings of the configuration', () => {
      expect(
        fromIPWorksConfig(
          'UseSSL=true;SSLCertStoreType=User;SSLCertStore=MY;SSLCertSubject=CN=server;SSLCertEncoded=MIIB',
          withCert(),
        ),
      ).toEqual({ tls: certificate() });
    });

    it('maps UseSSL=false and SSLAuthenticateClients=false to nothing', () => {
      expect(fromIPWorksConfig('UseSSL=false;SSLAuthenticateClients=false')).toEqual({});
      expect(fromIPWorksConfig({ UseSSL: false, SSLAuthenticateClients: 0 })).toEqual({});
      expect(fromIPWorksConfig('UseSSL=true;SSLAuthenticateClients=false', withCert())).toEqual({
        tls: certificate(),
      });
    });

    it('reports a TLS setting given without UseSSL=true, which IPWorks then ignores', () => {
      const err = thrown(
        `LocalPort=1;SSLEnabledProtocols=3072;UseSSL=false;SSLCertStoreType=2;SSLCertStore=${c.file('server.p12')}`,
      ) as UnmappedSettingError;
      const because =
        'applies only with UseSSL=true, which this configuration does not set: add UseSSL=true to serve wss://, or leave it out with `ignore`';
      expect(err.settings).toEqual([
        {
          name: 'SSLEnabledProtocols',
          message: `IPWorks config setting "SSLEnabledProtocols" ${because}`,
        },
        { name: 'SSLCertStoreType', message: `IPWorks property "SSLCertStoreType" ${because}` },
        { name: 'SSLCertStore', message: `IPWorks property "SSLCertStore" ${because}` },
      ]);
      expect(invalid('SSLEnabledProtocols=3072', withCert())).toBe(
        '"certificate" is given, but the configuration does not turn TLS on: add UseSSL=true',
      );
    });

    it('reports UseSSL without a certificate Node can read, saying what to give', () => {
      const windows =
        'Node reads PEM and PKCS#12 only (no Windows certificate stores, JKS or PKCS#11): export the certificate and its key to a PKCS#12 or PEM file, then give SSLCertStoreType PFXFile or PEMKeyFile, or the `certificate` option of fromIPWorksConfig()';
      expect(unmapped('UseSSL=true;SSLEnabledProtocols=3072')).toBe(
        'IPWorks property "UseSSL" is true, but the configuration gives no certificate rxws can read: give SSLCertStoreType PFXFile, PFXBlob, PEMKeyFile or PEMKeyBlob with SSLCertStore, or the `certificate` option of fromIPWorksConfig() ({ cert, key } or { pfx, passphrase })',
      );
      expect(unmapped('UseSSL=true;SSLCertStore=MY;SSLCertSubject=CN=server')).toBe(
        `IPWorks property "SSLCertStore" is read as a Windows user store (SSLCertStoreType User, 0, IPWorks' default), which Node does not have: ${windows}`,
      );
      expect(unmapped('UseSSL=true;SSLCertStoreType=1;SSLCertStore=MY')).toBe(
        `IPWorks property "SSLCertStoreType" Machine (1) has no rxws equivalent: ${windows}`,
      );
      expect(unmapped('UseSSL=true;SSLCertStoreType=JKSFile;SSLCertStore=keystore.jks')).toBe(
        `IPWorks property "SSLCertStoreType" JKSFile (4) has no rxws equivalent: ${windows}`,
      );
      expect(
        unmapped(
          `UseSSL=true;SSLCertStoreType=2;SSLCertStore=${c.file('server.p12')};SSLCertStorePassword=pfx-pass;SSLCertSubject=CN=localhost`,
        ),
      ).toBe(
        'IPWorks property "SSLCertSubject" cannot be mapped with a PKCS#12 store: rxws serves the certificate of the bundle\'s key (`tls.certSubject` picks among PEM certificates only); export the one to serve, or leave SSLCertSubject out with `ignore` when that is the one',
      );
    });

    it.each<[string, TlsOptions]>([
      ['3072', { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }],
      ['15360', { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' }],
      ['12288', { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' }],
      ['4032', { minVersion: 'TLSv1', maxVersion: 'TLSv1.2' }],
      ['960', { minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }],
      // One of a version's two bits enables it.
      ['1024', { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }],
    ])('maps SSLEnabledProtocols=%s to a range of versions', (bits, versions) => {
      expect(fromIPWorksConfig(`UseSSL=true;SSLEnabledProtocols=${bits}`, withCert())).toEqual({
        tls: { ...certificate(), ...versions },
      });
    });

    it.each<[string, string]>([
      [
        'SSLEnabledProtocols=4080',
        'IPWorks config setting "SSLEnabledProtocols" set to "4080": Node cannot speak SSL 3.0; clear its bits (48)',
      ],
      [
        'SSLEnabledProtocols=60',
        'IPWorks config setting "SSLEnabledProtocols" set to "60": Node cannot speak SSL 2.0 or SSL 3.0; clear their bits (12, 48)',
      ],
      [
        'SSLEnabledProtocols=13056',
        'IPWorks config setting "SSLEnabledProtocols" set to "13056": rxws takes a range of versions (`tls.minVersion` to `tls.maxVersion`), and TLS 1.2 is off between TLS 1.1 and TLS 1.3',
      ],
      [
        'SSLEnabledProtocols=0',
        'IPWorks config setting "SSLEnabledProtocols" must be a sum of 12 (SSL 2.0), 48 (SSL 3.0), 192 (TLS 1.0), 768 (TLS 1.1), 3072 (TLS 1.2), 12288 (TLS 1.3), got "0"',
      ],
      [
        'SSLEnabledProtocols=16384',
        'IPWorks config setting "SSLEnabledProtocols" must be a sum of 12 (SSL 2.0), 48 (SSL 3.0), 192 (TLS 1.0), 768 (TLS 1.1), 3072 (TLS 1.2), 12288 (TLS 1.3), got "16384"',
      ],
      [
        'SSLEnabledCipherSuites=CALG_AES_256',
        'IPWorks config setting "SSLEnabledCipherSuites" set to "CALG_AES_256": "CALG_AES_256" is not the IANA name of a cipher suite Node\'s OpenSSL has (give OpenSSL\'s own list format with OpenSSLCipherList instead)',
      ],
      [
        'OpenSSLCipherList=NO-SUCH-CIPHER',
        'IPWorks config setting "OpenSSLCipherList" set to "NO-SUCH-CIPHER": Node\'s OpenSSL matches no cipher suite with it',
      ],
      [
        'OpenSSLCipherList=HIGH\nSSLEnabledCipherSuites=TLS_AES_128_GCM_SHA256',
        'IPWorks config settings "OpenSSLCipherList" and "SSLEnabledCipherSuites" both give `tls.ciphers`; keep one',
      ],
      [
        'TLS12SignatureAlgorithms=sha256-rsa,md5-rsa',
        'IPWorks config setting "TLS12SignatureAlgorithms" set to "sha256-rsa,md5-rsa": Node\'s OpenSSL has no signature algorithm "md5-rsa"',
      ],
      [
        'TLS13SupportedGroups=ecdhe_x25519,ecdhe_brainpool',
        'IPWorks config setting "TLS13SupportedGroups" set to "ecdhe_x25519,ecdhe_brainpool": Node\'s OpenSSL has no group "ecdhe_brainpool"',
      ],
      [
        'SSLCACerts=ca.pem',
        'IPWorks config setting "SSLCACerts" must be PEM certificates (-----BEGIN CERTIFICATE----- blocks), got "ca.pem"',
      ],
      [
        'SSLIncludeCertChain=maybe',
        'IPWorks config setting "SSLIncludeCertChain" must be true, false, 1 or 0, got "maybe"',
      ],
      [
        'SSLCertStoreType=PFXFile',
        'IPWorks property "SSLCertStoreType" is PFXFile (2), but "SSLCertStore" is not given: it holds the file name',
      ],
      [
        'SSLCertStoreType=Keychain;SSLCertStore=x',
        'IPWorks property "SSLCertStoreType" must be a certificate store type: a number from 0 to 23 or 99, or its name (PFXFile, PEMKeyFile, ...), got "Keychain"',
      ],
      [
        'SSLCertStoreType=PFXBlob;SSLCertStore=not base64!',
        'IPWorks property "SSLCertStore" must be the PKCS#12 bundle in base64 (SSLCertStoreType PFXBlob), got "not base64!"',
      ],
      [
        'SSLCertStoreType=PEMKeyBlob;SSLCertStore=-----BEGIN CERTIFICATE-----',
        'IPWorks property "SSLCertStore" set to "-----BEGIN CERTIFICATE-----": a PEM store must hold a certificate (then its chain) and its private key; it holds 0 certificate(s) and 0 private key(s)',
      ],
    ])('refuses %s, naming the setting and the value', (settings, message) => {
      // Settings outside TLS are checked first; with a certificate, TLS is complete.
      const config = `UseSSL=true;${settings.replace(/\n/g, ';')}`;
      const certificateSettings = /SSLCertStore/.test(settings);
      expect(invalid(config, certificateSettings ? {} : withCert())).toBe(message);
    });

    it('names the setting behind a value createServer() refuses', () => {
      expect(
        invalid(
          `UseSSL=true;SSLCertStoreType=PFXFile;SSLCertStore=${c.file('server.p12')};SSLCertStorePassword=wrong`,
        ),
      ).toMatch(
        new RegExp(
          `^IPWorks property "SSLCertStore" set to "${c.file('server.p12')}": "tls": Node could not use it: .*mac verify failure`,
        ),
      );
      expect(
        invalid(
          `UseSSL=true;OpenSSLCAFile=${c.file('ca.crt')};OpenSSLCADir=/no/such/dir`,
          withCert(),
        ),
      ).toBe(
        'IPWorks config setting "OpenSSLCADir" set to "/no/such/dir": "tls.ca" must be PEM text, a Buffer or a readable file, got "/no/such/dir" (ENOENT: no such file or directory, stat \'/no/such/dir\')',
      );
      expect(
        invalid(`UseSSL=true;SSLCertStoreType=PEMKeyFile;SSLCertStore=/no/such/file.pem`),
      ).toBe(
        'IPWorks property "SSLCertStore" set to "/no/such/file.pem": the PEM file cannot be read (ENOENT: no such file or directory, open \'/no/such/file.pem\')',
      );
      expect(
        invalid('UseSSL=true', {
          certificate: { cert: c.file('server.crt'), key: c.file('client.key') },
        }),
      ).toMatch(/^the "certificate" option: "tls": Node could not use it: .*key values mismatch/);
    });

    it('checks the certificate option', () => {
      expect(invalid('UseSSL=true', { certificate: 'server.pem' as never })).toBe(
        '"certificate" must be { cert, key } or { pfx, passphrase }, got "server.pem"',
      );
      expect(
        invalid('UseSSL=true', { certificate: { ...certificate(), ciphers: 'HIGH' } as never }),
      ).toBe(
        '"certificate" takes cert, key, pfx and passphrase, not "ciphers": the other `tls` fields come from the configuration, or add them to the result',
      );
    });

    it('maps SSLEnableRenegotiation=true to nothing and refuses false', () => {
      expect(fromIPWorksConfig('SSLEnableRenegotiation=true')).toEqual({});
      expect(unmapped('SSLEnableRenegotiation=false')).toBe(
        'IPWorks config setting "SSLEnableRenegotiation" has no rxws option: rxws always refuses renegotiation (TLS 1.3 has none), and OpenSSL always supports the renegotiation_info extension (RFC 5746): `true` maps to nothing, `false` cannot be mapped',
      );
    });

    it('refuses SSLCheckCRL 1 and 2, which fetch lists, and a value out of 0 to 2', () => {
      expect(unmapped('SSLCheckCRL=2')).toContain('Node neither fetches CRLs');
      expect(invalid('SSLCheckCRL=3')).toBe(
        'IPWorks config setting "SSLCheckCRL" must be 0, 1 or 2, got "3"',
      );
    });
  });
});
