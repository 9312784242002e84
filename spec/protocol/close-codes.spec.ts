import { assertCloseArgs, isValidCloseCode } from '../../src/protocol/close-codes';

describe('isValidCloseCode', () => {
  it.each([
    [1000, true],
    [1003, true],
    [1004, false],
    [1005, false],
    [1006, false],
    [1007, true],
    [1014, true],
    [1015, false],
    [2999, false],
    [3000, true],
    [4999, true],
    [5000, false],
    [1000.5, false],
  ])('isValidCloseCode(%d) = %s', (code, valid) => {
    expect(isValidCloseCode(code)).toBe(valid);
  });
});

describe('assertCloseArgs', () => {
  it('accepts a code a server may send and a reason of 123 UTF-8 bytes', () => {
    expect(() => assertCloseArgs('close', 4000, 'é'.repeat(61) + 'x')).not.toThrow();
  });

  it.each([
    [1005, '', 'close code must be 1000-1003, 1007-1014 or 3000-4999, got 1005'],
    ['1000', '', 'close code must be 1000-1003, 1007-1014 or 3000-4999, got "1000"'],
    [
      1000,
      'é'.repeat(62),
      `close reason must be a string of at most 123 UTF-8 bytes, got "${'é'.repeat(62)}"`,
    ],
    [1000, 5, 'close reason must be a string of at most 123 UTF-8 bytes, got 5'],
  ])('rejects code %j with reason %j in one sentence', (code, reason, message) => {
    expect(() => assertCloseArgs('close', code, reason)).toThrow(message);
  });
});
