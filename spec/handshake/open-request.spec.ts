import { STATUS_CODES } from 'node:http';
import { checkDecision } from '../../src/handshake/open-request';

const text = (s: number) => STATUS_CODES[s];
const req = { subprotocols: ['v2.chat', 'v1.chat'] };

describe('checkDecision', () => {
  it.each([
    [undefined, [], { accept: true, protocol: 'v2.chat', headers: {} }],
    [true, ['v1.chat'], { accept: true, protocol: 'v1.chat', headers: {} }],
    [true, ['other'], { accept: true, protocol: undefined, headers: {} }],
    [false, [], { accept: false, status: 403, reason: 'Forbidden', headers: {} }],
    [
      { accept: true, protocol: 'v1.chat', headers: { 'X-A': '1' } },
      ['v2.chat'],
      { accept: true, protocol: 'v1.chat', headers: { 'X-A': '1' } },
    ],
    [
      { accept: false, status: 401, headers: { 'WWW-Authenticate': 'Bearer' } },
      [],
      {
        accept: false,
        status: 401,
        reason: 'Unauthorized',
        headers: { 'WWW-Authenticate': 'Bearer' },
      },
    ],
    [
      { accept: false, status: 429, reason: 'slow down' },
      [],
      { accept: false, status: 429, reason: 'slow down', headers: {} },
    ],
    [
      { accept: true, data: { user: 'ann' } },
      [],
      { accept: true, protocol: 'v2.chat', headers: {}, data: { user: 'ann' } },
    ],
  ])('turns %j (server protocols %j) into %j', (answer, protocols, expected) => {
    expect(checkDecision(answer, req, protocols, text)).toEqual(expected);
  });

  it.each([
    [
      { accept: true, protocol: 'v3.chat' },
      'onOpenRequest chose subprotocol "v3.chat", which the client did not offer',
    ],
    [
      { accept: false, status: 200 },
      'onOpenRequest rejected with status 200; it must be an integer from 300 to 599',
    ],
    [
      { accept: false, status: 101 },
      'onOpenRequest rejected with status 101; it must be an integer from 300 to 599',
    ],
    ['yes', 'onOpenRequest must answer a boolean or { accept: boolean, ... }, got yes'],
    [
      { status: 401 },
      'onOpenRequest must answer a boolean or { accept: boolean, ... }, got {"status":401}',
    ],
  ])('refuses the answer %j', (answer, message) => {
    expect(() => checkDecision(answer, req, [], text)).toThrow(message);
  });
});
