import { incompleteTail, isCharacterStart } from '../../src/protocol/utf8';

describe('UTF-8 at piece boundaries', () => {
  it.each([
    [[0x61], 0],
    [[0x61, 0xc3], 1],
    [[0xc3, 0xa9], 0],
    [[0xe2, 0x82], 2],
    [[0xe2, 0x82, 0xac], 0],
    [[0xf0, 0x9f, 0x98], 3],
    [[0xf0, 0x9f, 0x98, 0x80], 0],
    [[0x80, 0x80, 0x80], 0],
  ])('incompleteTail(%j) = %i', (bytes, n) => {
    expect(incompleteTail(Buffer.from(bytes))).toBe(n);
  });

  it.each([
    [[0xc3], true],
    [[0xc1], false],
    [[0xe0, 0xa0], true],
    [[0xe0, 0x80], false],
    [[0xed, 0x9f], true],
    [[0xed, 0xa0], false],
    [[0xf0, 0x90, 0x80], true],
    [[0xf0, 0x8f], false],
    [[0xf4, 0x8f], true],
    [[0xf4, 0x90], false],
    [[0xf5], false],
    [[0xe2, 0x82, 0x41], false],
  ])('isCharacterStart(%j) = %s', (bytes, ok) => {
    expect(isCharacterStart(Buffer.from(bytes))).toBe(ok);
  });
});
