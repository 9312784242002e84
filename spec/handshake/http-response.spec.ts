import {
  HANDSHAKE_HEADERS,
  buildHttpResponse,
  headerLines,
} from '../../src/handshake/http-response';

describe('buildHttpResponse', () => {
  it('builds a complete response with a text body and Connection: close', () => {
    expect(buildHttpResponse(403, 'Forbidden')).toBe(
      'HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
        'Content-Length: 9\r\n\r\nForbidden',
    );
  });

  it("puts the user's headers before its own and leaves out the ones it writes itself", () => {
    expect(
      buildHttpResponse(401, 'é', {
        'WWW-Authenticate': 'Bearer',
        'Content-Length': '99',
        Connection: 'keep-alive',
      }),
    ).toBe(
      'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nConnection: close\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n\r\né',
    );
  });
});

describe('headerLines', () => {
  it.each([
    [{ 'X-A': '1' }, ['X-A: 1']],
    [{ 'Set-Cookie': ['a=1', 'b=2'] }, ['Set-Cookie: a=1', 'Set-Cookie: b=2']],
    [{ 'X-N': 5, 'X-U': undefined }, ['X-N: 5']],
    [{ Upgrade: 'h2c', 'Sec-WebSocket-Accept': 'x', 'X-B': 'y' }, ['X-B: y']],
  ])('turns %j into %j (handshake headers left out)', (headers, lines) => {
    expect(headerLines(headers, HANDSHAKE_HEADERS)).toEqual(lines);
  });

  it.each([
    [{ 'X-A': 'a\r\nInjected: 1' }, 'ERR_INVALID_CHAR'],
    [{ 'Bad Name': 'v' }, 'ERR_INVALID_HTTP_TOKEN'],
  ])('refuses %j with %s: no CR/LF can be injected', (headers, code) => {
    let thrown: unknown;
    try {
      headerLines(headers, HANDSHAKE_HEADERS);
    } catch (err) {
      thrown = err;
    }
    expect((thrown as NodeJS.ErrnoException | undefined)?.code).toBe(code);
  });
});
