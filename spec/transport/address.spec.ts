import { displayAddress, parseAddress, parseIPv4, parseIPv6 } from '../../src/transport/address';

describe('parseIPv4', () => {
  it.each([
    ['127.0.0.1', [127, 0, 0, 1]],
    ['255.255.255.255', [255, 255, 255, 255]],
    ['0.0.0.0', [0, 0, 0, 0]],
  ])('parses %s', (text, bytes) => expect(parseIPv4(text)).toEqual(bytes));

  it.each(['256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', 'a.b.c.d', '', '1..2.3'])(
    'rejects %j',
    (text) => expect(parseIPv4(text)).toBeNull(),
  );
});

describe('parseIPv6', () => {
  it.each([
    ['::1', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]],
    ['::', new Array(16).fill(0)],
    ['fe80::1%eth0', [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]],
    ['2001:db8:0:0:0:0:2:1', [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1]],
    ['::ffff:10.1.2.3', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3]],
    ['1::', [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
  ])('parses %s', (text, bytes) => expect(parseIPv6(text)).toEqual(bytes));

  it.each([
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    ':::',
    'g::1',
    '12345::',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7::8',
    '',
  ])('rejects %j', (text) => expect(parseIPv6(text)).toBeNull());
});

describe('parseAddress', () => {
  it('reads an IPv4-mapped IPv6 address as IPv4', () => {
    expect(parseAddress('::ffff:192.168.1.9')).toEqual([192, 168, 1, 9]);
  });
});

describe('displayAddress', () => {
  it.each([
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['2001:db8::1', '2001:db8::1'],
  ])('shows %s as %s', (input, shown) => expect(displayAddress(input)).toBe(shown));
});
