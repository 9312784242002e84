import { decodeEnvelope, encodeEnvelope, senderHeader } from '../../../src/pubsub/redis/envelope';

describe('envelopes', () => {
  const header = senderHeader('host/42', 'ep0ch');

  it.each<[string, Buffer | string | undefined, boolean]>([
    ['text', 'héllo', false],
    ['empty text', '', false],
    ['binary', Buffer.from([0, 1, 255]), true],
    ['text as bytes', Buffer.from('bytes'), false],
    ['a mark', undefined, false],
  ])('round-trips %s', (_name, payload, binary) => {
    const decoded = decodeEnvelope(encodeEnvelope(header, 2 ** 40 + 3, payload, binary));
    expect(decoded).toEqual({
      publisher: 'host/42',
      epoch: 'ep0ch',
      seq: 2 ** 40 + 3,
      mark: payload === undefined,
      binary,
      payload: Buffer.from(payload ?? ''),
    });
  });

  it.each<[string, Buffer]>([
    ['too short', Buffer.from([1, 0, 0])],
    [
      'another version',
      Buffer.concat([Buffer.from([2]), encodeEnvelope(header, 1, 'x', false).subarray(1)]),
    ],
    ['a name running past the end', Buffer.from([1, 0, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 200, 65])],
    ['a sequence that is not a positive integer', encodeEnvelope(header, 0.5, 'x', false)],
    ['text another writer put on the channel', Buffer.from('hello from redis-cli')],
  ])('refuses %s', (_name, bytes) => {
    expect(decodeEnvelope(bytes)).toBeUndefined();
  });

  it('refuses a publisher name or epoch longer than 255 bytes', () => {
    expect(() => senderHeader('x'.repeat(256), 'e')).toThrow(RangeError);
  });
});
