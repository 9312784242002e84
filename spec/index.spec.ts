import * as rxws from '../src';

describe('rxws public API', () => {
  it('exports exactly these values', () => {
    expect(Object.keys(rxws).sort()).toEqual(
      [
        'CloseCode',
        'Connection',
        'ConnectionError',
        'ConnectionRefusedError',
        'DEFAULT_OPTIONS',
        'HookError',
        'InvalidArgumentError',
        'InvalidOptionError',
        'ListenError',
        'RxwsError',
        'RxwsServer',
        'SendError',
        'allowedClients',
        'bufferMessage',
        'flowControl',
        'followReadyToSend',
        'createServer',
        'isValidCloseCode',
      ].sort(),
    );
  });
});
