import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { createServer, type LogEntry, type RxwsServer } from '../../src';
import { Logger } from '../../src/logs';
import type { HostLookupFunction } from '../../src/transport/host-lookup';
import { StageChain, type StageChainConfig } from '../../src/transport/stage-chain';
import { bytesUntilClosed } from '../helpers/raw';
import { nodeClock } from '../../src/util/clock';

/** Sockets `fakeSocket()` made: each is closed after the test, which clears its handshake timer. */
const sockets = new Set<EventEmitter>();

/** A socket as far as the connection stage reads it: its peer, and whether it was destroyed. */
function fakeSocket(remoteAddress: string): Socket & { destroyed: boolean } {
  const socket = Object.assign(new EventEmitter(), {
    remoteAddress,
    remotePort: 40000,
    destroyed: false,
    setNoDelay: () => socket,
    setKeepAlive: () => socket,
    destroy: () => {
      socket.destroyed = true;
      return socket;
    },
  });
  sockets.add(socket);
  return socket as unknown as Socket & { destroyed: boolean };
}

function chainWith(
  lookup: HostLookupFunction,
  logs: LogEntry[],
  overrides: Partial<StageChainConfig> = {},
): StageChain {
  const logger = new Logger(2);
  logger.logs$.subscribe((entry) => logs.push(entry));
  return new StageChain({
    logger,
    tls: undefined,
    onClientCertificate: undefined,
    onTlsRequest: undefined,
    handshakeTimeout: 2 ** 31 - 1,
    tcpNoDelay: true,
    keepAlive: false,
    allowedClients: ['db.test', '192.168.1.*'],
    allowedClientsRefresh: 1000,
    maxConnections: 1000,
    maxConnectionsPerAddress: Infinity,
    maxHandshakesPerAddress: Infinity,
    perAddressExempt: [],
    onConnectionRequest: undefined,
    connectionPipeline: undefined,
    openCount: () => 0,
    onHookError: () => undefined,
    hostLookup: { lookup },
    clock: nodeClock,
    ...overrides,
  });
}

/** Whether the chain's connection stage lets a socket from `address` on. */
function admits(chain: StageChain, address: string): boolean {
  let next = false;
  const socket = fakeSocket(address);
  chain.accept(socket, () => (next = true));
  expect(socket.destroyed).toBe(!next);
  return next;
}

describe('StageChain host names in allowedClients', () => {
  afterEach(() => {
    for (const socket of sockets) socket.emit('close');
    sockets.clear();
    jest.useRealTimers();
  });

  it('looks them up when asked, again every allowedClientsRefresh ms, and logs failures and changes', async () => {
    jest.useFakeTimers();
    const answers: Array<() => Promise<string[]>> = [
      () => Promise.resolve(['10.0.0.5']),
      () =>
        Promise.reject(
          Object.assign(new Error('getaddrinfo EAI_AGAIN db.test'), { code: 'EAI_AGAIN' }),
        ),
      () => Promise.resolve(['10.0.0.6']),
    ];
    const lookup = jest.fn(() => answers.shift()!());
    const logs: LogEntry[] = [];
    const chain = chainWith(lookup, logs);

    // Nothing is looked up before the server listens: the host name allows nobody yet.
    expect(lookup).not.toHaveBeenCalled();
    expect(admits(chain, '10.0.0.5')).toBe(false);

    await chain.resolveHosts();
    expect(lookup).toHaveBeenCalledTimes(1);
    expect([
      admits(chain, '10.0.0.5'),
      admits(chain, '10.0.0.6'),
      admits(chain, '192.168.1.9'),
    ]).toEqual([true, false, true]);

    await jest.advanceTimersByTimeAsync(1000);
    expect(lookup).toHaveBeenCalledTimes(2);
    expect(admits(chain, '10.0.0.5')).toBe(true);

    await jest.advanceTimersByTimeAsync(1000);
    expect(lookup).toHaveBeenCalledTimes(3);
    expect([admits(chain, '10.0.0.5'), admits(chain, '10.0.0.6')]).toEqual([false, true]);

    expect(logs.filter((e) => e.type === 'allow-list')).toEqual([
      {
        level: 2,
        type: 'allow-list',
        host: 'db.test',
        addresses: ['10.0.0.5'],
        message: 'allowedClients: "db.test" allows 10.0.0.5',
      },
      {
        level: 1,
        type: 'allow-list',
        host: 'db.test',
        addresses: ['10.0.0.5'],
        code: 'EAI_AGAIN',
        message:
          'allowedClients: looking up "db.test" failed (getaddrinfo EAI_AGAIN db.test); it still allows 10.0.0.5',
      },
      {
        level: 2,
        type: 'allow-list',
        host: 'db.test',
        addresses: ['10.0.0.6'],
        message: 'allowedClients: "db.test" allows 10.0.0.6',
      },
    ]);
    expect(
      logs
        .filter((e) => e.type === 'refused')
        .map((e) => e.type === 'refused' && [e.code, e.reason]),
    ).toContainEqual(['ERR_NOT_ALLOWED', '10.0.0.5 is not in allowedClients']);
    chain.stopResolvingHosts();
  });

  it('clears the refresh timer when stopped, and looks up no more', async () => {
    jest.useFakeTimers();
    const lookup = jest.fn(() => Promise.resolve(['10.0.0.5']));
    const chain = chainWith(lookup, []);
    await chain.resolveHosts();
    expect(jest.getTimerCount()).toBe(1);
    chain.stopResolvingHosts();
    expect(jest.getTimerCount()).toBe(0);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(lookup).toHaveBeenCalledTimes(1);
    // The addresses found stay, and resolving again starts a new round.
    expect(admits(chain, '10.0.0.5')).toBe(true);
    await chain.resolveHosts();
    expect(lookup).toHaveBeenCalledTimes(2);
    chain.stopResolvingHosts();
  });

  it('sets no timer with allowedClientsRefresh 0', async () => {
    jest.useFakeTimers();
    const lookup = jest.fn(() => Promise.resolve(['10.0.0.5']));
    const chain = chainWith(lookup, [], { allowedClientsRefresh: 0 });
    await chain.resolveHosts();
    expect(jest.getTimerCount()).toBe(0);
    chain.stopResolvingHosts();
  });

  it('settles a first lookup still running when stopped', async () => {
    const chain = chainWith(() => new Promise<string[]>(() => undefined), []);
    const first = chain.resolveHosts();
    chain.stopResolvingHosts();
    await expect(first).resolves.toBeUndefined();
    expect(admits(chain, '10.0.0.5')).toBe(false);
  });

  it('has nothing to resolve without host names', () => {
    const lookup = jest.fn(() => Promise.resolve(['10.0.0.5']));
    const chain = chainWith(lookup, [], { allowedClients: ['127.0.0.1'] });
    expect(chain.resolveHosts()).toBeUndefined();
    expect(lookup).not.toHaveBeenCalled();
  });
});

describe('a server with a host name in allowedClients', () => {
  let server: RxwsServer | undefined;
  afterEach(async () => {
    await server?.shutdown();
    server = undefined;
  });

  it('resolves it before listening and admits only its addresses', async () => {
    server = createServer({ host: '127.0.0.1', port: 0, allowedClients: 'localhost', logLevel: 2 });
    const logs: LogEntry[] = [];
    server.logs$.subscribe((e) => logs.push(e));
    const { port } = await server.listen();

    const types = logs.map((e) => e.type);
    expect(types.indexOf('allow-list')).toBeLessThan(types.indexOf('listening'));
    expect(logs.find((e) => e.type === 'allow-list')).toMatchObject({
      level: 2,
      host: 'localhost',
      addresses: expect.arrayContaining(['127.0.0.1']),
    });

    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close();
    await closed;

    expect(await bytesUntilClosed(port, '127.0.0.1', '127.0.0.2')).toBe(0);
    expect(
      logs
        .filter((e) => e.type === 'refused')
        .map((e) => e.type === 'refused' && [e.stage, e.code, e.reason]),
    ).toEqual([['connection', 'ERR_NOT_ALLOWED', '127.0.0.2 is not in allowedClients']]);
  });
});
