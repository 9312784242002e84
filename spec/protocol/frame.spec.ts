import {
  COPY_LIMIT,
  Opcode,
  encodeFrame,
  headerLength,
  writeHeader,
} from '../../src/protocol/frame';
import { parseFrames } from '../helpers/frames';

describe('encodeFrame', () => {
  it.each([
    [0, 2],
    [125, 2],
    [126, 4],
    [65535, 4],
    [65536, 10],
  ])('uses a %d-byte payload length with a %d-byte header', (length, header) => {
    expect(headerLength(length)).toBe(header);
  });

  it('encodes text straight into one frame, multi-byte characters counted in bytes', () => {
    const frame = encodeFrame(Opcode.TEXT, 'héllo €') as Buffer;
    expect(Buffer.isBuffer(frame)).toBe(true);
    expect([...frame.subarray(0, 2)]).toEqual([0x81, 10]);
    expect(frame.subarray(2).toString()).toBe('héllo €');
  });

  it.each([0, 1, 125, 126, 300, 65535, 65536, COPY_LIMIT])(
    'round-trips a %d-byte binary payload',
    (length) => {
      const payload = Buffer.alloc(length, 7);
      const encoded = encodeFrame(Opcode.BINARY, payload);
      const bytes = Array.isArray(encoded) ? Buffer.concat(encoded) : encoded;
      const { frames, rest } = parseFrames(bytes);
      expect(rest.length).toBe(0);
      expect(frames).toEqual([{ fin: true, opcode: Opcode.BINARY, payload }]);
    },
  );

  it('copies payloads up to COPY_LIMIT and leaves larger ones uncopied behind a separate header', () => {
    expect(Buffer.isBuffer(encodeFrame(Opcode.BINARY, Buffer.alloc(COPY_LIMIT)))).toBe(true);
    const big = Buffer.alloc(COPY_LIMIT + 1);
    const encoded = encodeFrame(Opcode.BINARY, big);
    expect(Array.isArray(encoded)).toBe(true);
    expect((encoded as [Buffer, Buffer])[1]).toBe(big);
    expect([...(encoded as [Buffer, Buffer])[0]]).toEqual([
      0x82,
      126,
      (COPY_LIMIT + 1) >> 8,
      (COPY_LIMIT + 1) & 0xff,
    ]);
  });

  it('writes a 64-bit length for payloads over 4 GiB', () => {
    // Only the header: a 5 GiB payload is not allocated, the length arithmetic is what matters.
    const header = Buffer.alloc(10);
    expect(writeHeader(header, Opcode.BINARY, 5 * 2 ** 30, true)).toBe(10);
    expect(header.readBigUInt64BE(2)).toBe(BigInt(5 * 2 ** 30));
  });

  it('clears FIN for a fragment', () => {
    expect((encodeFrame(Opcode.TEXT, 'a', false) as Buffer)[0]).toBe(0x01);
  });
});
