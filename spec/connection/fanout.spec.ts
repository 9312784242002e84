import { firstValueFrom, take, toArray } from 'rxjs';
import type WebSocket from 'ws';
import { InvalidArgumentError, type Connection, type RxwsServer } from '../../src';
import { fanout, type FanoutTarget } from '../../src/connection/fanout';
import type { Outbound } from '../../src/connection/outbound';
import type { SharedMessage } from '../../src/connection/shared-message';
import { Op } from '../helpers/frames';
import { rawConnection } from '../helpers/raw-connection';
import { cleanup, nextMessage, openClient, startServer } from '../helpers/server';
import { readAll, stuck } from '../helpers/slow-client';

afterEach(cleanup);

/** A server with `n` ws clients connected; connections in the order the clients opened. */
async function withClients(
  n: number,
  options: Parameters<typeof startServer>[0] = {},
  clientOptions?: WebSocket.ClientOptions,
): Promise<{ server: RxwsServer; clients: WebSocket[]; conns: Connection[] }> {
  const { server, url } = await startServer(options);
  const opened = firstValueFrom(server.connections$.pipe(take(n), toArray()));
  const clients: WebSocket[] = [];
  for (let i = 0; i < n; i++) clients.push(await openClient(url, undefined, clientOptions));
  return { server, clients, conns: await opened };
}

/** A target whose outbound records the shared messages it is handed. */
function target(open = true): FanoutTarget & { sent: SharedMessage[] } {
  const sent: SharedMessage[] = [];
  const outbound = { sendShared: (m: SharedMessage) => sent.push(m) } as unknown as Outbound;
  return { sent, openOutbound: open ? outbound : undefined };
}

describe('fanout()', () => {
  it('hands one shared message to every open target, framed once for all', () => {
    const targets = [target(), target(false), target()];
    expect(fanout('hi', false, targets)).toBe(2);
    expect(targets[1].sent).toEqual([]);
    const [a, b] = [targets[0].sent[0], targets[2].sent[0]];
    expect(a).toBe(b);
    expect(a.frame).toBe(b.frame);
    expect(a.frame).toEqual(Buffer.from([0x81, 0x02, 0x68, 0x69]));
    expect([a.payload, a.binary, a.bytes]).toEqual(['hi', false, 2]);
  });

  it('measures a text payload in UTF-8 bytes and frames binary with the binary opcode', () => {
    const [t] = [target()];
    fanout('é', false, [t]);
    expect([t.sent[0].payload, t.sent[0].binary, t.sent[0].bytes]).toEqual(['é', false, 2]);
    const u = target();
    fanout(Buffer.from([1, 2, 3]), true, [u]);
    expect(u.sent[0].frame).toEqual(Buffer.from([0x82, 0x03, 1, 2, 3]));
  });

  it('skips the targets the filter refuses, and makes nothing when no target takes it', () => {
    const targets = [target(), target()];
    expect(fanout('x', false, targets, (t) => t === targets[1])).toBe(1);
    expect(targets.map((t) => t.sent.length)).toEqual([0, 1]);
    expect(fanout('x', false, [target(false)])).toBe(0);
  });
});

describe('server.broadcast()', () => {
  it('sends one message to every open connection and says how many', async () => {
    const { server, clients, conns } = await withClients(3);
    const got = clients.map(nextMessage);
    expect(server.broadcast('to all')).toBe(3);
    for (const m of await Promise.all(got)) {
      expect({ data: m.data.toString(), isBinary: m.isBinary }).toEqual({
        data: 'to all',
        isBinary: false,
      });
    }
    expect(conns.map((c) => c.stats.messagesOut)).toEqual([1, 1, 1]);
    expect(conns.map((c) => c.stats.bytesOut)).toEqual([6, 6, 6]);
  });

  it('sends binary and large messages (header and payload written apart) whole', async () => {
    const { server, clients } = await withClients(2);
    const big = Buffer.alloc(200 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    let got = clients.map(nextMessage);
    expect(server.broadcast(new Uint8Array([1, 2, 3]))).toBe(2);
    for (const m of await Promise.all(got))
      expect([...m.data, m.isBinary]).toEqual([1, 2, 3, true]);
    got = clients.map(nextMessage);
    server.broadcast(big);
    for (const m of await Promise.all(got)) expect(m.data.equals(big)).toBe(true);
    got = clients.map(nextMessage);
    server.broadcast({ data: 'as bytes', format: 'binary' });
    for (const m of await Promise.all(got))
      expect([m.data.toString(), m.isBinary]).toEqual(['as bytes', true]);
  });

  it('sends only to the connections the filter accepts', async () => {
    const { server, clients, conns } = await withClients(3);
    const chosen = new Set([conns[0].id, conns[2].id]);
    const first = clients.map(nextMessage);
    expect(server.broadcast('some', { filter: (c) => chosen.has(c.id) })).toBe(2);
    // The one left out gets the next message to all first.
    expect(server.broadcast('all')).toBe(3);
    const got = await Promise.all(first);
    expect(got.map((m) => m.data.toString())).toEqual(['some', 'all', 'some']);
  });

  it('skips connections that are closing and throws for data that cannot be sent', async () => {
    const { server, conns } = await withClients(2);
    void conns[0].disconnect();
    expect(server.broadcast('x')).toBe(1);
    expect(() => server.broadcast(42 as unknown as string)).toThrow(InvalidArgumentError);
    expect(() => server.broadcast({ data: 'x', format: 'json' as 'text' })).toThrow(
      'format must be "text" or "binary", got "json"',
    );
  });

  it('queues behind what a busy connection holds, in order, under its overflow policy', async () => {
    const { server, conn, socket, errors } = await stuck({
      maxQueue: { messages: 2 },
      overflow: 'drop-newest',
    });
    conn.sink.next('queued first');
    expect(server.broadcast('broadcast 1')).toBe(1);
    expect(server.broadcast('broadcast 2')).toBe(1); // over the bound: dropped
    expect(conn.stats.drops).toMatchObject({ 'drop-newest': 1 });
    expect(errors).toEqual([]);
    const frames = await readAll(socket, 3);
    expect(frames.slice(1).map((f) => [f.opcode, f.payload.toString()])).toEqual([
      [Op.TEXT, 'queued first'],
      [Op.TEXT, 'broadcast 1'],
    ]);
  }, 30_000);

  it('splits by maxFrameSize and compresses for permessage-deflate clients, like any send', async () => {
    const { server, conn, client } = await rawConnection({ maxFrameSize: 1000 });
    server.broadcast(Buffer.alloc(2500, 1));
    const frames = [];
    for (let i = 0; i < 3; i++) frames.push(await client.nextFrame());
    expect(frames.map((f) => [f?.opcode, f?.fin, f?.payload.length])).toEqual([
      [Op.BINARY, false, 1000],
      [Op.CONT, false, 1000],
      [Op.CONT, true, 500],
    ]);
    expect(conn.stats.messagesOut).toBe(1);

    const deflating = await withClients(
      2,
      { perMessageDeflate: true },
      { perMessageDeflate: true },
    );
    const text = 'compressible '.repeat(1000);
    const got = deflating.clients.map(nextMessage);
    expect(deflating.server.broadcast(text)).toBe(2);
    for (const m of await Promise.all(got)) expect(m.data.toString()).toBe(text);
  });
});
