import { filter, firstValueFrom, map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { ConnectionError, type CloseInfo, type Connection } from '../../src';
import { testConnection } from '../../src/testing';
import { cleanup, openClient, startServer } from '../helpers/server';

afterEach(cleanup);

/**
 * The simulation is only worth what it shares with a real server: each case runs one handler and
 * one client script against a real server (a `ws` client over loopback TCP) and against
 * `testConnection()`, and both must see the same thing: what the client received and how the
 * connection closed.
 */
interface Outcome {
  received: Array<string | number>;
  closed: Pick<CloseInfo, 'code' | 'reason' | 'wasClean'>;
}

/** A client script: what it sends, and when it closes (undefined: the server closes). */
interface Script {
  sends: Array<{ data: string; fin?: boolean }>;
  close?: { code: number; reason: string };
}

const cases: Array<[string, (conn: Connection) => void, Script]> = [
  [
    'an upper-case echo closed by the client',
    (conn) => conn.messages$.pipe(map((m) => String(m.data).toUpperCase())).subscribe(conn.sink),
    { sends: [{ data: 'hi' }, { data: 'yo' }], close: { code: 1000, reason: 'done' } },
  ],
  [
    'a handler that closes with 4001 after the third message',
    (conn) =>
      conn.messages$.subscribe((m) => {
        conn.sink.next(`got ${String(m.data)}`);
        if (m.data === 'c') void conn.disconnect(4001, 'enough');
      }),
    { sends: [{ data: 'a' }, { data: 'b' }, { data: 'c' }] },
  ],
  [
    'a message sent in fragments, answered with its length, then sink.error()',
    (conn) =>
      conn.messages$.subscribe((m) => {
        conn.sink.next(String(String(m.data).length));
        conn.sink.error(new ConnectionError('ERR_INVALID_PAYLOAD', 'no more', { closeCode: 1008 }));
      }),
    { sends: [{ data: 'hel', fin: false }, { data: 'lo, ', fin: false }, { data: 'world' }] },
  ],
];

async function overTcp(handler: (conn: Connection) => void, script: Script): Promise<Outcome> {
  const { server, url } = await startServer();
  server.connections$.subscribe(handler);
  const closed = firstValueFrom(server.disconnections$);
  const ws = await openClient(url);
  const received: Array<string | number> = [];
  ws.on('message', (data: Buffer) => received.push(data.toString()));
  const clientClosed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  for (const { data, fin = true } of script.sends) ws.send(data, { fin });
  if (script.close) {
    // Once the server has answered every message it will answer.
    const answers = script.sends.filter((s) => s.fin !== false).length;
    while (received.length < answers) await new Promise((r) => ws.once('message', r));
    ws.close(script.close.code, script.close.reason);
  }
  const { code, reason, wasClean } = await closed;
  await clientClosed;
  return { received, closed: { code, reason, wasClean } };
}

function simulated(handler: (conn: Connection) => void, script: Script): Outcome {
  const received: Array<string | number> = [];
  let closed: Outcome['closed'] | undefined;
  new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ flush }) => {
    const { connection, client } = testConnection();
    handler(connection);
    client.messages$.subscribe((m) => received.push(String(m)));
    connection.closed$.subscribe(
      ({ code, reason, wasClean }) => (closed = { code, reason, wasClean }),
    );
    for (const { data, fin = true } of script.sends) client.send(data, { fin });
    flush();
    if (script.close) client.close(script.close.code, script.close.reason);
  });
  if (!closed) throw new Error('the simulated connection did not close');
  return { received, closed };
}

describe('testConnection and a real server', () => {
  it.each(cases)('agree on %s', async (_name, handler, script) => {
    const real = await overTcp(handler, script);
    expect(simulated(handler, script)).toEqual(real);
  });

  it('agree on a client that stops reading: readyToSend$ turns false, then true once it reads', async () => {
    // Over TCP the kernel's buffers come first, so only the edges are compared, not when.
    const { server, url } = await startServer({ outBufferSize: 1024 });
    const opened = firstValueFrom(server.connections$);
    const ws = await openClient(url);
    const conn = await opened;
    const edges: boolean[] = [];
    conn.readyToSend$.subscribe((ready) => edges.push(ready));
    (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const chunk = 'x'.repeat(64 * 1024);
    while (conn.readyToSend) conn.sink.next(chunk);
    const ready = firstValueFrom(conn.readyToSend$.pipe(filter((r) => r)));
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await ready;

    const simulatedEdges: boolean[] = [];
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ flush }) => {
      const { connection, client } = testConnection({ server: { outBufferSize: 1024 } });
      connection.readyToSend$.subscribe((r) => simulatedEdges.push(r));
      client.reading = false;
      while (connection.readyToSend) connection.sink.next(chunk);
      flush();
      client.reading = true;
    });
    expect(edges).toEqual([true, false, true]);
    expect(simulatedEdges).toEqual(edges);
    ws.terminate();
  });
});
