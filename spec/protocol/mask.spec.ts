import { unmask } from '../../src/protocol/mask';

describe('unmask', () => {
  it('matches a byte-by-byte XOR at every offset and alignment, with and without the addon', () => {
    const mask = Buffer.from([0x11, 0x22, 0x33, 0x44]);
    for (const length of [0, 1, 5, 31, 32, 100, 1000]) {
      for (let align = 0; align < 4; align++) {
        for (let offset = 0; offset < 4; offset++) {
          const backing = Buffer.alloc(length + 8);
          for (let i = 0; i < backing.length; i++) backing[i] = (i * 7) & 0xff;
          const data = backing.subarray(align, align + length);
          const expected = Buffer.from(data).map((b, i) => b ^ mask[(i + offset) & 3]);
          unmask(data, mask, offset);
          expect(Buffer.compare(data, Buffer.from(expected))).toBe(0);
        }
      }
    }
  });
});
