import { extensionNames, parseSubprotocols, validateUpgrade } from '../../src/handshake/validate';

const good = {
  host: 'example.com',
  upgrade: 'websocket',
  connection: 'Upgrade',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'sec-websocket-version': '13',
};

describe('validateUpgrade', () => {
  it('accepts a valid request and lists what the client offers', () => {
    expect(
      validateUpgrade('GET', {
        ...good,
        'sec-websocket-protocol': 'chat, superchat',
        'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits, x-foo',
      }),
    ).toEqual({
      ok: true,
      subprotocols: ['chat', 'superchat'],
      extensions: ['permessage-deflate', 'x-foo'],
    });
  });

  it('accepts version 8 and the Upgrade value in any case', () => {
    expect(
      validateUpgrade('GET', { ...good, upgrade: 'WebSocket', 'sec-websocket-version': '8' }).ok,
    ).toBe(true);
  });

  it.each([
    ['POST', good, 405, 'Invalid HTTP method'],
    ['GET', { ...good, host: undefined }, 400, 'Missing Host header'],
    ['GET', { ...good, host: '' }, 400, 'Missing Host header'],
    ['GET', { ...good, upgrade: 'h2c' }, 400, 'Invalid Upgrade header'],
    [
      'GET',
      { ...good, 'sec-websocket-key': undefined },
      400,
      'Missing or invalid Sec-WebSocket-Key header',
    ],
    [
      'GET',
      { ...good, 'sec-websocket-key': 'short==' },
      400,
      'Missing or invalid Sec-WebSocket-Key header',
    ],
    [
      'GET',
      { ...good, 'sec-websocket-version': '12' },
      400,
      'Missing or invalid Sec-WebSocket-Version header',
    ],
    [
      'GET',
      { ...good, 'sec-websocket-protocol': 'a, a' },
      400,
      'Invalid Sec-WebSocket-Protocol header',
    ],
    [
      'GET',
      { ...good, 'sec-websocket-protocol': 'a b' },
      400,
      'Invalid Sec-WebSocket-Protocol header',
    ],
  ])('answers %s %j with %d', (method, headers, status, message) => {
    const result = validateUpgrade(method, headers);
    expect(result).toMatchObject({ ok: false, status, message });
  });

  it('tells a client with a wrong version which versions the server speaks', () => {
    expect(validateUpgrade('GET', { ...good, 'sec-websocket-version': '7' })).toMatchObject({
      headers: { 'Sec-WebSocket-Version': '13, 8' },
    });
  });
});

describe('parseSubprotocols', () => {
  it('returns [] without a header and null for a malformed one', () => {
    expect(parseSubprotocols(undefined)).toEqual([]);
    expect(parseSubprotocols('a,,b')).toBeNull();
  });
});

describe('extensionNames', () => {
  it('keeps only names', () => {
    expect(extensionNames('a; x=1, b')).toEqual(['a', 'b']);
    expect(extensionNames(undefined)).toEqual([]);
  });
});
