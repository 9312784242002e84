import { connect, type Socket } from 'node:net';
import { firstValueFrom } from 'rxjs';
import type { LogEntry } from '../../src';
import { AddressSlots, PRIVATE_RANGES } from '../../src/transport/address-slots';
import { upgradeRequest } from '../helpers/raw';
import { cleanup, nextMessage, openClient, startServer } from '../helpers/server';

afterEach(cleanup);

const opened: Socket[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.destroy();
});

/** A TCP connection from `localAddress`, and when it closes (listened for from the start). */
function socketFrom(
  port: number,
  localAddress: string,
): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    opened.push(socket);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

function refusals(logs: LogEntry[]): Array<[unknown, unknown]> {
  return logs.filter((e) => e.type === 'refused').map((e) => [e.code, e.reason]);
}

describe('AddressSlots', () => {
  const slots = new AddressSlots({
    maxConnectionsPerAddress: 2,
    maxHandshakesPerAddress: 1,
    perAddressExempt: PRIVATE_RANGES,
  });

  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['127.0.0.1', undefined],
    ['10.1.2.3', undefined],
    ['192.168.0.9', undefined],
    ['::1', undefined],
    ['fd00::1', undefined],
  ])('counts %s as %s', (address, key) => {
    expect(slots.keyOf(address)).toBe(key);
  });

  it('refuses past either bound and frees the slots as sockets open and close', () => {
    const key = slots.keyOf('203.0.113.7');
    slots.entered(key);
    expect(slots.check(key, '203.0.113.7')).toBeUndefined();
    slots.entered(key);
    expect(slots.check(key, '203.0.113.7')?.code).toBe('ERR_MAX_HANDSHAKES');
    slots.left(key, true);
    slots.opened(key);
    slots.entered(key);
    expect(slots.check(key, '203.0.113.7')).toBeUndefined();
    slots.opened(key);
    slots.entered(key);
    expect(slots.check(key, '203.0.113.7')?.message).toBe(
      'maxConnectionsPerAddress (2) reached for 203.0.113.7',
    );
    slots.left(key, true);
    slots.left(key, false);
    slots.left(key, false);
    expect(slots.size).toBe(0);
  });
});

describe('fair admission', () => {
  it('lets another address in while one holds handshakes that never finish', async () => {
    // maxConnections 100: one address may hold 25 connections, of which 16 handshakes.
    const { server, port, url } = await startServer({
      maxConnections: 100,
      perAddressExempt: [],
      // The admitted silent sockets must not time out while the test runs, however slowly.
      handshakeTimeout: 120_000,
    });
    const logs: LogEntry[] = [];
    server.logs$.subscribe((e) => logs.push(e));
    // 40 silent sockets from 127.0.0.1: each would take a slot until handshakeTimeout.
    const silent = await Promise.all(
      Array.from({ length: 40 }, () => socketFrom(port, '127.0.0.1')),
    );
    const refusedClosed = silent.map((s) => s.closed);
    // The 24 past maxHandshakesPerAddress (16) are refused and closed.
    let closedCount = 0;
    await new Promise<void>((resolve) => {
      for (const p of refusedClosed) {
        void p.then(() => {
          if (++closedCount === 24) resolve();
        });
      }
    });
    const opened = firstValueFrom(server.connections$);
    const ws = await openClient(url, undefined, { localAddress: '127.0.0.2' });
    const echo = nextMessage(ws);
    const conn = await opened;
    conn.sink.next('in');
    expect((await echo).data.toString()).toBe('in');
    const codes = refusals(logs).map(([code]) => code);
    expect(codes).toEqual(Array(24).fill('ERR_MAX_HANDSHAKES'));
    expect(refusals(logs)[0][1]).toBe('maxHandshakesPerAddress (16) reached for 127.0.0.1');
  }, 60_000);

  it('lets another address in while one holds its share of open connections', async () => {
    const { server, port, url } = await startServer({
      maxConnections: 12,
      perAddressExempt: [],
    });
    const logs: LogEntry[] = [];
    server.logs$.subscribe((e) => logs.push(e));
    // maxConnectionsPerAddress defaults to a quarter of maxConnections: 3.
    for (let i = 0; i < 3; i++) await openClient(url, undefined, { localAddress: '127.0.0.1' });
    const fourth = await socketFrom(port, '127.0.0.1');
    fourth.socket.write(upgradeRequest('/', [], port));
    await fourth.closed;
    expect(refusals(logs)).toEqual([
      ['ERR_MAX_PER_ADDRESS', 'maxConnectionsPerAddress (3) reached for 127.0.0.1'],
    ]);
    const ws = await openClient(url, undefined, { localAddress: '127.0.0.2' });
    expect(server.connections.size).toBe(4);
    expect([...server.connections.values()].map((c) => c.remoteAddress).sort()).toEqual([
      '127.0.0.1',
      '127.0.0.1',
      '127.0.0.1',
      '127.0.0.2',
    ]);
    ws.close();
  });

  it('does not count the exempt addresses (by default loopback and private ranges)', async () => {
    const { server, url } = await startServer({ maxConnections: 8 });
    for (let i = 0; i < 8; i++) await openClient(url);
    expect(server.connections.size).toBe(8);
  });
});
