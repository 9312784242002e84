import * as rxws from '../src';
import * as testing from '../src/testing';

// The declarations users get are checked in spec/package.spec.ts, on the packed build.

describe('rxws public API', () => {
  it('exports exactly these values', () => {
    expect(Object.keys(rxws).sort()).toEqual(
      [
        'CloseCode',
        'ConnectionError',
        'ConnectionRefusedError',
        'DEFAULT_OPTIONS',
        'HookError',
        'InvalidArgumentError',
        'InvalidOptionError',
        'ListenError',
        'RxwsError',
        'SendError',
        'UnmappedSettingError',
        'admitWhen',
        'allowedClients',
        'limitConnections',
        'bufferMessage',
        'ofType',
        'parseJson',
        'routeJson',
        'toJson',
        'flowControl',
        'followReadyToSend',
        'createServer',
        'fromIPWorksConfig',
        'isValidCloseCode',
        'memoryBackplane',
      ].sort(),
    );
  });
});

describe('rxws/testing public API', () => {
  it('exports exactly these values', () => {
    expect(Object.keys(testing).sort()).toEqual(['testConnection']);
  });
});
