import { BlockList } from 'node:net';
import { ConnectionRefusedError, InvalidArgumentError } from '../../src';
import { parseIPv4 } from '../../src/transport/address';
import {
  AllowList,
  allowListCheck,
  allowListOf,
  compileAllowList,
  splitList,
} from '../../src/transport/allow-list';

describe('compileAllowList', () => {
  const table: Array<[string[], string, boolean]> = [
    [[], '8.8.8.8', true],
    [['*'], '2001:db8::5', true],
    [['10.0.0.1', '*'], 'not-an-address', true],
    [['127.0.0.1'], '127.0.0.1', true],
    [['127.0.0.1'], '::ffff:127.0.0.1', true],
    [['127.0.0.1'], '::FFFF:127.0.0.1', true],
    [['127.0.0.1'], '::ffff:7f00:1', true],
    [['127.0.0.1'], '127.0.0.2', false],
    [['192.168.1.*'], '192.168.1.77', true],
    [['192.168.1.*'], '192.168.2.77', false],
    [['192.168.1.*'], '::ffff:192.168.1.77', true],
    [['10.*.*.1'], '10.200.3.1', true],
    [['10.*.*.1'], '10.200.3.2', false],
    [['*.*.*.*'], '203.0.113.9', true],
    [['*.*.*.*'], '::1', false],
    [['10.0.0.0/8'], '10.255.0.1', true],
    [['10.0.0.0/8'], '11.0.0.1', false],
    [['10.0.0.5/8'], '10.200.0.0', true],
    [['172.16.0.0/12'], '172.31.255.255', true],
    [['172.16.0.0/12'], '172.32.0.0', false],
    [['0.0.0.0/0'], '1.2.3.4', true],
    [['0.0.0.0/0'], '255.255.255.255', true],
    [['0.0.0.0/0'], '::1', false],
    [['255.255.255.255'], '255.255.255.255', true],
    [['::1'], '::1', true],
    [['::1'], '0:0:0:0:0:0:0:1', true],
    [['::1'], '127.0.0.1', false],
    [['fe80::1'], 'fe80::1%eth0', true],
    [['fd00::/8'], 'fd12:3456::1', true],
    [['fd00::/8'], 'fe80::1', false],
    [['2001:db8::/33'], '2001:db8:7fff::1', true],
    [['2001:db8::/33'], '2001:db8:8000::1', false],
    [['::/0'], '2001:db8::1', true],
    [['::/0'], '10.0.0.1', false],
    [['::ffff:10.0.0.0/104'], '10.9.9.9', true],
    [['::ffff:10.0.0.0/104'], '11.9.9.9', false],
    [['10.0.0.1', '::1'], '::1', true],
    [['10.0.0.1'], 'not-an-address', false],
    [['0.0.0.0/0'], '', false],
    [['0.0.0.0/0'], '010.0.0.1', false],
    [['0.0.0.0/0'], '1.2.3', false],
    [['0.0.0.0/0'], '1.2.3.4.5', false],
    [['0.0.0.0/0'], '1..2.3', false],
    [['0.0.0.0/0'], '256.0.0.1', false],
    [['0.0.0.0/0'], '1.2.3.4 ', false],
    [['0.0.0.0/0'], '::ffff:1.2.3', false],
  ];
  it.each(table)('with %j, %j is allowed: %s', (entries, address, allowed) => {
    expect(compileAllowList(entries)(address)).toBe(allowed);
  });

  it.each([
    '0.0.0.0',
    '1.2.3.4',
    '10.0.0.1',
    '255.255.255.255',
    '01.2.3.4',
    '1.2.3.256',
    '1.2.3.-1',
  ])('reads %j as parseIPv4() does', (address) => {
    expect(compileAllowList(['0.0.0.0/0'])(address)).toBe(parseIPv4(address) !== null);
  });

  it.each([
    ['host.example', '"host.example" is not an IP address, wildcard or CIDR block'],
    ['10.0.0.300', '"10.0.0.300" is not an IP address, wildcard or CIDR block'],
    ['10.0.0.0/x', '"10.0.0.0/x" is not a valid CIDR block'],
    ['10.0.0.0/33', '"10.0.0.0/33" is not a valid CIDR block'],
    ['::1/129', '"::1/129" is not a valid CIDR block'],
    ['::ffff:10.0.0.0/80', '"::ffff:10.0.0.0/80" is not a valid CIDR block'],
    ['10.*', '"10.*" is not a valid IPv4 wildcard (use "*" for whole octets)'],
    ['10.*.x.1', '"10.*.x.1" is not a valid IPv4 wildcard (use "*" for whole octets)'],
    ['10.1*.0.1', '"10.1*.0.1" is not a valid IPv4 wildcard (use "*" for whole octets)'],
  ])('rejects the entry %j (no host names here)', (entry, message) => {
    expect(() => compileAllowList([entry])).toThrow(message);
  });

  // net.BlockList is the reference: the index must answer as it does (wildcards as subnets).
  it('answers as net.BlockList with the same entries', () => {
    const entries: Array<[ours: string, address: string, prefix?: number]> = [
      ['10.0.0.0/8', '10.0.0.0', 8],
      ['192.168.1.*', '192.168.1.0', 24],
      ['203.0.113.7', '203.0.113.7'],
      ['100.64.0.0/10', '100.64.0.0', 10],
      ['::1', '::1'],
      ['fd00::/8', 'fd00::', 8],
      ['2001:db8::/33', '2001:db8::', 33],
      ['::ffff:198.51.100.0/120', '::ffff:198.51.100.0', 120],
    ];
    const reference = new BlockList();
    for (const [, address, prefix] of entries) {
      const family = address.includes(':') ? 'ipv6' : 'ipv4';
      if (prefix === undefined) reference.addAddress(address, family);
      else reference.addSubnet(address, prefix, family);
    }
    const ours = compileAllowList(entries.map(([entry]) => entry));
    const addresses = [
      '10.1.2.3',
      '11.1.2.3',
      '192.168.1.200',
      '192.168.2.1',
      '203.0.113.7',
      '203.0.113.8',
      '100.127.255.255',
      '100.128.0.0',
      '198.51.100.44',
      '198.51.101.44',
      '::ffff:10.1.2.3',
      '::ffff:11.1.2.3',
      '::ffff:198.51.100.44',
      '::1',
      '::2',
      'fd99::1',
      'fe80::1',
      '2001:db8:7fff:ffff::1',
      '2001:db8:8000::1',
      '127.0.0.1',
    ];
    const answers = addresses.map((a) => [a, ours(a)]);
    expect(answers).toEqual(
      addresses.map((a) => [a, reference.check(a, a.includes(':') ? 'ipv6' : 'ipv4')]),
    );
    expect(answers.filter(([, allowed]) => allowed)).toHaveLength(10);
  });
});

describe('AllowList', () => {
  it('takes host names as entries, in order and without repeats', () => {
    const list = AllowList.compile(['localhost', '10.0.0.0/8', 'proxy.internal', 'localhost']);
    expect(list.hosts).toEqual(['localhost', 'proxy.internal']);
    expect(list.allowsAll).toBe(false);
  });

  it('needs no host name resolved when it allows everyone', () => {
    expect(AllowList.compile(['localhost', '*']).hosts).toEqual([]);
    expect(AllowList.compile(['localhost', '*']).allowsAll).toBe(true);
    expect(AllowList.compile([]).allowsAll).toBe(true);
  });

  it.each([
    ['localhost'],
    ['db-1.internal'],
    ['my_service'],
    ['example.com.'],
    ['xn--bcher-kva.example'],
  ])('reads %j as a host name', (entry) => {
    expect(AllowList.compile([entry]).hosts).toEqual([entry]);
  });

  it.each([
    ['not a host', '"not a host" is not an IP address, wildcard, CIDR block or host name'],
    ['host.123', '"host.123" is not an IP address, wildcard, CIDR block or host name'],
    ['-bad.example', '"-bad.example" is not an IP address, wildcard, CIDR block or host name'],
    ['a..b', '"a..b" is not an IP address, wildcard, CIDR block or host name'],
    [`${'a'.repeat(64)}.example`, 'is not an IP address, wildcard, CIDR block or host name'],
    ['', '"" is not an IP address, wildcard, CIDR block or host name'],
    ['10.0.0.300', '"10.0.0.300" is not an IP address, wildcard or CIDR block'],
    ['1.2.3', '"1.2.3" is not an IP address, wildcard or CIDR block'],
    ['fe80::zz', '"fe80::zz" is not an IP address, wildcard or CIDR block'],
  ])('rejects the entry %j', (entry, message) => {
    expect(() => AllowList.compile([entry])).toThrow(message);
  });

  it('allows nobody for a host name until it is resolved, then its addresses', () => {
    const list = AllowList.compile(['localhost', '10.0.0.0/8']);
    expect(list.addressesOf('localhost')).toBeUndefined();
    expect(['127.0.0.1', '::1', '10.1.1.1'].map((a) => list.matches(a))).toEqual([
      false,
      false,
      true,
    ]);
    expect(list.setAddresses('localhost', ['127.0.0.1', '::1'])).toBe(true);
    expect(list.addressesOf('localhost')).toEqual(['127.0.0.1', '::1']);
    expect(
      ['127.0.0.1', '::ffff:127.0.0.1', '::1', '127.0.0.2', '::2'].map((a) => list.matches(a)),
    ).toEqual([true, true, true, false, false]);
  });

  it('replaces the addresses of a host name and tells whether they changed', () => {
    const list = AllowList.compile(['a.test', 'b.test']);
    expect(list.setAddresses('a.test', ['10.0.0.1', '10.0.0.2'])).toBe(true);
    expect(list.setAddresses('b.test', ['fd00::1'])).toBe(true);
    expect(list.setAddresses('a.test', ['10.0.0.2', '10.0.0.1'])).toBe(false);
    expect(list.setAddresses('a.test', ['10.0.0.3'])).toBe(true);
    expect(['10.0.0.1', '10.0.0.3', 'fd00::1'].map((a) => list.matches(a))).toEqual([
      false,
      true,
      true,
    ]);
  });

  it('keeps the addresses of a host name when an answer holds no IP address', () => {
    const list = AllowList.compile(['a.test']);
    list.setAddresses('a.test', ['10.0.0.1']);
    expect(() => list.setAddresses('a.test', ['nonsense'])).toThrow(
      '"a.test" resolved to no IP address',
    );
    expect(() => list.setAddresses('a.test', [])).toThrow('"a.test" resolved to no IP address');
    expect(list.addressesOf('a.test')).toEqual(['10.0.0.1']);
    expect(list.setAddresses('a.test', ['nonsense', '10.0.0.2'])).toBe(true);
    expect(list.addressesOf('a.test')).toEqual(['10.0.0.2']);
  });

  it('makes a fresh copy with no host name resolved', () => {
    const list = AllowList.compile(['a.test', '10.0.0.1']);
    list.setAddresses('a.test', ['10.0.0.2']);
    const fresh = list.fresh();
    expect(fresh.hosts).toEqual(['a.test']);
    expect([fresh.matches('10.0.0.1'), fresh.matches('10.0.0.2')]).toEqual([true, false]);
    expect(list.matches('10.0.0.2')).toBe(true);
  });
});

describe('allowListCheck', () => {
  it('refuses a request off the list with ERR_NOT_ALLOWED when it can be refused', () => {
    const refusals: ConnectionRefusedError[] = [];
    const check = allowListCheck(['127.0.0.1']);
    const request = {
      remoteAddress: '10.1.2.3',
      refuse: (r: ConnectionRefusedError) => refusals.push(r),
    };
    expect(check(request)).toBe(false);
    expect(refusals.map((r) => [r.name, r.code, r.message])).toEqual([
      ['ConnectionRefusedError', 'ERR_NOT_ALLOWED', '10.1.2.3 is not in allowedClients'],
    ]);
  });

  it('only answers false for a value without refuse()', () => {
    const check = allowListCheck(['127.0.0.1']);
    expect([check({ remoteAddress: '10.1.2.3' }), check({ remoteAddress: '127.0.0.1' })]).toEqual([
      false,
      true,
    ]);
  });

  it('checks against the addresses an AllowList resolves to at the time', () => {
    const list = AllowList.compile(['a.test']);
    const check = allowListCheck(list);
    expect(check({ remoteAddress: '10.0.0.1' })).toBe(false);
    list.setAddresses('a.test', ['10.0.0.1']);
    expect(check({ remoteAddress: '10.0.0.1' })).toBe(true);
  });

  it('does not read the address when the list allows everyone', () => {
    const unread = {
      get remoteAddress(): string {
        throw new Error('remoteAddress was read');
      },
    };
    expect(allowListCheck([])(unread)).toBe(true);
    expect(allowListCheck('*')(unread)).toBe(true);
  });

  it('throws InvalidArgumentError at once, naming the entry', () => {
    expect(() => allowListOf('10.0.0.1, not a host')).toThrow(
      new InvalidArgumentError(
        'allowedClients: "not a host" is not an IP address, wildcard, CIDR block or host name',
      ),
    );
  });
});

describe('splitList', () => {
  it('splits on commas, trims and drops empty entries', () => {
    expect(splitList(' 10.0.0.1, ,localhost ,::1,')).toEqual(['10.0.0.1', 'localhost', '::1']);
    expect(splitList('')).toEqual([]);
  });
});
