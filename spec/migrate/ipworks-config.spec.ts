import { InvalidArgumentError, UnmappedSettingError } from '../../src/errors';
import { fromIPWorksConfig, type IPWorksConfig } from '../../src/migrate/ipworks-config';
import { resolveOptions, type ServerOptions } from '../../src/options';
import { optionOf, readDocRows, type DocRow } from './ipworks-docs';

/** What `fromIPWorksConfig()` threw, for exact assertions. */
function thrown(config: IPWorksConfig, ignore?: readonly string[]): Error {
  try {
    fromIPWorksConfig(config, ignore ? { ignore } : undefined);
  } catch (err) {
    return err as Error;
  }
  throw new Error(`fromIPWorksConfig(${JSON.stringify(config)}) did not throw`);
}

/** The message of the error `config` throws, checking its class and code. */
function unmapped(config: IPWorksConfig): string {
  const err = thrown(config);
  expect(err).toBeInstanceOf(UnmappedSettingError);
  expect((err as UnmappedSettingError).code).toBe('ERR_UNMAPPED_SETTING');
  return err.message;
}

function invalid(config: IPWorksConfig): string {
  const err = thrown(config);
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

describe('fromIPWorksConfig', () => {
  describe('maps every member the docs table maps', () => {
    const rows = readDocRows();
    const mapped = rows.filter((r) => optionOf(r) !== undefined);

    it('has a sample for exactly the members docs/ipworks.md maps to an option', () => {
      expect(Object.keys(SAMPLES).sort()).toEqual(mapped.map((r) => r.name).sort());
    });

    it.each(mapped.map((r) => [r.name, optionOf(r) as string]))(
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

    // A name a connection field and an event share is taken as the field (a value, as a setting).
    const shadowed = (r: DocRow): boolean =>
      r.kind === 'event' && rows.some((o) => o.kind === 'field' && o.name === r.name);

    it.each(
      rows
        .filter((r) => optionOf(r) === undefined && !r.note.includes('`false` maps to nothing'))
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

    it.each(rows.filter((r) => r.note.includes('`false` maps to nothing')).map((r) => [r.name]))(
      'maps %s=false to nothing and refuses true',
      (name) => {
        expect(fromIPWorksConfig(`${name}=false`)).toEqual({});
        expect(fromIPWorksConfig({ [name]: false })).toEqual({});
        expect(unmapped(`${name}=true`)).toContain(`"${name}" has no rxws option`);
      },
    );
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

    it('says what to use instead for a TLS setting', () => {
      expect(unmapped('UseSSL=true')).toBe(
        'IPWorks property "UseSSL" has no rxws option: TLS arrives with wss support (issue 14); meanwhile set `key` and `cert` on an `https.Server` given as option `server`; `false` maps to nothing',
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

    it('lists every one at once, in order, after reading the whole configuration', () => {
      const err = thrown(
        'LocalPort=8080\nUseSSL=true;DoEvents=1\nBufferMessage=true\nSSLProvider=2',
      ) as UnmappedSettingError;
      expect(err).toBeInstanceOf(UnmappedSettingError);
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe('UnmappedSettingError');
      expect(err.message).toBe(
        [
          '3 IPWorks settings cannot be mapped to rxws options:',
          '- IPWorks property "UseSSL" has no rxws option: TLS arrives with wss support (issue 14); meanwhile set `key` and `cert` on an `https.Server` given as option `server`; `false` maps to nothing',
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
});
