import { filter, firstValueFrom } from 'rxjs';
import { Op } from '../helpers/frames';
import { cleanup, openClient, startServer } from '../helpers/server';
import { BIG, readAll, stuck } from '../helpers/slow-client';

afterEach(cleanup);

const texts = (frames: Array<{ opcode: number; payload: Buffer }>) =>
  frames.map((f) =>
    f.opcode === Op.BINARY
      ? `binary ${f.payload.length}`
      : f.opcode === Op.CLOSE
        ? `close ${f.payload.readUInt16BE(0)}`
        : f.payload.toString(),
  );

describe('the send queue', () => {
  it('holds sends in order while the socket is full and delivers them when it drains', async () => {
    const { conn, socket } = await stuck({ maxQueue: { messages: 5 } });
    const sent = ['a', 'b', 'c'].map((m) => conn.send(m));
    expect(conn.stats).toMatchObject({ queuedMessages: 3, queuedBytes: 3, peakQueuedBytes: 3 });
    const frames = await readAll(socket, 4);
    await Promise.all(sent);
    expect(texts(frames)).toEqual([`binary ${BIG}`, 'a', 'b', 'c']);
    expect(conn.stats).toMatchObject({
      queuedMessages: 0,
      queuedBytes: 0,
      messagesOut: 4,
      bytesOut: BIG + 3,
    });
  });

  it("'error': a send past maxQueue fails with ERR_WOULD_BLOCK, a sink value is reported", async () => {
    const { conn, socket, logs, errors } = await stuck({
      maxQueue: { messages: 2 },
      overflow: 'error',
    });
    const ok = [conn.send('m0'), conn.send('m1')];
    await expect(conn.send('m2')).rejects.toMatchObject({ code: 'ERR_WOULD_BLOCK' });
    conn.sink.next('m3');
    expect(errors.map((e) => e.code)).toEqual(['ERR_WOULD_BLOCK']);
    expect(conn.stats.drops).toEqual({ 'drop-newest': 0, 'drop-oldest': 0, close: 0, error: 2 });
    expect(logs.filter((e) => e.type === 'dropped').map((e) => [e.code, e.reason])).toEqual([
      ['ERR_WOULD_BLOCK', 'error'],
      ['ERR_WOULD_BLOCK', 'error'],
    ]);
    const frames = await readAll(socket, 3);
    await Promise.all(ok);
    expect(texts(frames)).toEqual([`binary ${BIG}`, 'm0', 'm1']);
  });

  it("'drop-newest': the send that does not fit is dropped and counted", async () => {
    const { conn, socket, logs, errors } = await stuck({
      maxQueue: { bytes: 4 },
      overflow: 'drop-newest',
    });
    conn.sink.next('aa');
    conn.sink.next('bb');
    conn.sink.next('cc');
    await expect(conn.send('dd')).rejects.toMatchObject({ code: 'ERR_DROPPED' });
    expect(conn.stats.drops['drop-newest']).toBe(2);
    expect(errors).toEqual([]);
    expect(logs.filter((e) => e.type === 'dropped')).toHaveLength(2);
    expect(texts(await readAll(socket, 3))).toEqual([`binary ${BIG}`, 'aa', 'bb']);
  });

  it("'drop-oldest': the oldest queued sends make room for the new one", async () => {
    const { conn, socket } = await stuck({ maxQueue: { messages: 2 }, overflow: 'drop-oldest' });
    const first = conn.send('m0');
    conn.sink.next('m1');
    conn.sink.next('m2');
    conn.sink.next('m3');
    await expect(first).rejects.toMatchObject({ code: 'ERR_DROPPED' });
    expect(conn.stats.drops['drop-oldest']).toBe(2);
    expect(texts(await readAll(socket, 3))).toEqual([`binary ${BIG}`, 'm2', 'm3']);
  });

  it("'drop-oldest' drops a message larger than the whole bound itself", async () => {
    const { conn } = await stuck({ maxQueue: { bytes: 4 }, overflow: 'drop-oldest' });
    conn.sink.next('ok');
    await expect(conn.send('far too long')).rejects.toMatchObject({ code: 'ERR_DROPPED' });
    expect(conn.stats).toMatchObject({ queuedMessages: 1, queuedBytes: 2 });
    expect(conn.stats.drops).toMatchObject({ 'drop-newest': 1, 'drop-oldest': 0 });
  });

  it("'close': the connection closes with 1008 once the bound is hit", async () => {
    // closeTimeout long enough for the client to read 32 MiB on a loaded machine: the close
    // frame waits behind them (with 300 ms the socket was destroyed first under load).
    const { conn, socket, errors } = await stuck({
      maxQueue: { messages: 1 },
      overflow: 'close',
      closeTimeout: 60_000,
    });
    const queued = conn.send('m0');
    await expect(conn.send('m1')).rejects.toMatchObject({ code: 'ERR_WOULD_BLOCK' });
    await expect(queued).rejects.toMatchObject({ code: 'ERR_WOULD_BLOCK' });
    expect(conn.state).toBe('CLOSING');
    expect(errors).toEqual([]);
    const frames = await readAll(socket, 2);
    expect(texts(frames)).toEqual([`binary ${BIG}`, 'close 1008']);
    expect(frames[1].payload.subarray(2).toString()).toBe('send queue full');
    expect((await firstValueFrom(conn.closed$)).code).toBe(1008);
    expect(conn.stats.drops.close).toBe(1);
  });

  it('lets a connection change its own bound and policy, and checks them', async () => {
    const { conn } = await stuck({ maxQueue: { messages: 100 } });
    conn.maxQueue = { messages: 1 };
    conn.overflow = 'drop-newest';
    expect(conn.maxQueue).toEqual({ bytes: 8 * 1024 * 1024, messages: 1 });
    conn.sink.next('a');
    conn.sink.next('b');
    expect(conn.stats.drops['drop-newest']).toBe(1);
    expect(() => (conn.overflow = 'block' as never)).toThrow(
      'overflow must be "error", "drop-newest", "drop-oldest" or "close", got "block"',
    );
    expect(() => (conn.maxQueue = { bytes: -1 })).toThrow(
      '"maxQueue.bytes" must be a non-negative integer or Infinity, got -1',
    );
  });
});

describe('server-level ReadyToSend', () => {
  it('logs each edge at verbose level', async () => {
    const { conn, socket, logs } = await stuck({ logLevel: 2 });
    const frames = readAll(socket, 1);
    await firstValueFrom(conn.readyToSend$.pipe(filter((r) => r)));
    await frames;
    expect(
      logs
        .filter((e) => e.type === 'ready-to-send')
        .map((e) => [e.level, e.connectionId, e.reason]),
    ).toEqual([
      [2, conn.id, 'full'],
      [2, conn.id, 'ready'],
    ]);
  });
});

describe('Connection.trySend', () => {
  it('sends at once while ready and throws ERR_WOULD_BLOCK when the send would wait', async () => {
    const { conn, socket } = await stuck({});
    expect(() => conn.trySend('now?')).toThrow(
      expect.objectContaining({ code: 'ERR_WOULD_BLOCK' }),
    );
    const ready = firstValueFrom(conn.readyToSend$.pipe(filter((r) => r)));
    const frames = readAll(socket, 2);
    await ready;
    conn.trySend('now');
    expect(texts(await frames)).toEqual([`binary ${BIG}`, 'now']);
  });
});

describe('Connection.stats', () => {
  it('counts what comes in and goes out, and pauses', async () => {
    const { server, url } = await startServer();
    const opened = firstValueFrom(server.connections$);
    const ws = await openClient(url);
    const conn = await opened;
    const got = firstValueFrom(conn.messages$);
    ws.send('héllo');
    await got;
    await conn.send(Buffer.alloc(10));
    conn.pause();
    conn.pause();
    conn.resume();
    conn.pause();
    expect(conn.stats).toEqual({
      bytesIn: 6,
      messagesIn: 1,
      bytesOut: 10,
      messagesOut: 1,
      queuedMessages: 0,
      queuedBytes: 0,
      peakQueuedBytes: 0,
      drops: { 'drop-newest': 0, 'drop-oldest': 0, close: 0, error: 0 },
      timesPaused: 2,
    });
  });
});
