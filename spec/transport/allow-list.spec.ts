import { compileAllowList } from '../../src/transport/allow-list';

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
