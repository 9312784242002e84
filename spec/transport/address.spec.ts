import {
  compileAllowList,
  displayAddress,
  parseAddress,
  parseIPv4,
  parseIPv6,
} from '../../src/transport/address';

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

describe('compileAllowList', () => {
  const table: Array<[string[], string, boolean]> = [
    [[], '8.8.8.8', true],
    [['*'], '2001:db8::5', true],
    [['127.0.0.1'], '127.0.0.1', true],
    [['127.0.0.1'], '::ffff:127.0.0.1', true],
    [['127.0.0.1'], '127.0.0.2', false],
    [['192.168.1.*'], '192.168.1.77', true],
    [['192.168.1.*'], '192.168.2.77', false],
    [['10.*.*.1'], '10.200.3.1', true],
    [['10.*.*.1'], '10.200.3.2', false],
    [['10.0.0.0/8'], '10.255.0.1', true],
    [['10.0.0.0/8'], '11.0.0.1', false],
    [['172.16.0.0/12'], '172.31.255.255', true],
    [['172.16.0.0/12'], '172.32.0.0', false],
    [['0.0.0.0/0'], '1.2.3.4', true],
    [['0.0.0.0/0'], '::1', false],
    [['::1'], '::1', true],
    [['::1'], '0:0:0:0:0:0:0:1', true],
    [['::1'], '127.0.0.1', false],
    [['fd00::/8'], 'fd12:3456::1', true],
    [['fd00::/8'], 'fe80::1', false],
    [['2001:db8::/33'], '2001:db8:7fff::1', true],
    [['2001:db8::/33'], '2001:db8:8000::1', false],
    [['::ffff:10.0.0.0/104'], '10.9.9.9', true],
    [['::ffff:10.0.0.0/104'], '11.9.9.9', false],
    [['10.0.0.1', '::1'], '::1', true],
    [['10.0.0.1'], 'not-an-address', false],
  ];
  it.each(table)('with %j, %s is allowed: %s', (entries, address, allowed) => {
    expect(compileAllowList(entries)(address)).toBe(allowed);
  });

  it.each([
    ['host.example', '"host.example" is not an IP address, wildcard or CIDR block'],
    ['10.0.0.0/x', '"10.0.0.0/x" is not a valid CIDR block'],
    ['::1/129', '"::1/129" is not a valid CIDR block'],
    ['10.*', '"10.*" is not a valid IPv4 wildcard (use "*" for whole octets)'],
  ])('rejects the entry %j', (entry, message) => {
    expect(() => compileAllowList([entry])).toThrow(message);
  });
});
