import { VirtualTimeScheduler, filter, firstValueFrom } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { CloseInfo, Connection, LogEntry, RxwsError } from '../../src';
import { schedulerClock } from '../../src/util/clock';
import { Op } from '../helpers/frames';
import { RawClient, tcpConnect } from '../helpers/raw';
import { cleanup, startServer } from '../helpers/server';

describe('schedulerClock', () => {
  it('fires a timeout after its delay, again from a refresh, and never once cleared', () => {
    const scheduler = new TestScheduler((a, e) => expect(a).toEqual(e));
    const fired: Array<[string, number]> = [];
    scheduler.run(({ flush }) => {
      const clock = schedulerClock(scheduler);
      const at = (name: string) => fired.push([name, scheduler.now()]);
      clock.setTimeout(at, 10, 'a');
      const b = clock.setTimeout(at, 10, 'b');
      const c = clock.setTimeout(at, 10, 'c');
      scheduler.schedule(() => clock.refresh(b), 6);
      scheduler.schedule(() => clock.clear(c), 6);
      flush();
    });
    expect(fired).toEqual([
      ['a', 10],
      ['b', 16],
    ]);
  });

  it('fires an interval every period until cleared', () => {
    const scheduler = new TestScheduler((a, e) => expect(a).toEqual(e));
    const ticks: number[] = [];
    scheduler.run(({ flush }) => {
      const clock = schedulerClock(scheduler);
      const interval = clock.setInterval(() => ticks.push(scheduler.now()), 5);
      scheduler.schedule(() => clock.clear(interval), 17);
      flush();
    });
    expect(ticks).toEqual([5, 10, 15]);
  });
});

/**
 * rxws's timers on a scheduler the test moves: real sockets, virtual time. A deadline of seconds
 * passes at once, whatever the machine's speed.
 */
describe('the scheduler option', () => {
  afterEach(cleanup);

  /** Moves virtual time to `ms`, running every timer due by then. */
  function advanceTo(scheduler: VirtualTimeScheduler, ms: number): void {
    scheduler.maxFrames = ms;
    scheduler.flush();
  }

  async function serverWith(options: Parameters<typeof startServer>[0]) {
    const scheduler = new VirtualTimeScheduler();
    scheduler.maxFrames = 0;
    const started = await startServer({ scheduler, ...options });
    return { ...started, scheduler };
  }

  it('sends the heartbeat ping and fails a silent client in virtual time', async () => {
    const { server, port, scheduler } = await serverWith({
      heartbeat: { interval: 20_000, timeout: 10_000 },
      idleTimeout: 0,
    });
    const opened = firstValueFrom(server.connections$);
    const errors: RxwsError[] = [];
    server.errors$.subscribe((e) => errors.push(e));
    const client = await RawClient.open(port);
    const conn: Connection = await opened;
    const closed = firstValueFrom(conn.closed$);

    // Liveness keeps its deadlines to within one tick (a quarter of the shortest span, 2.5 s).
    advanceTo(scheduler, 22_500);
    expect((await client.nextFrame())?.opcode).toBe(Op.PING);
    advanceTo(scheduler, 29_999);
    expect(conn.state).toBe('OPEN');
    advanceTo(scheduler, 35_000);
    const info: CloseInfo = await closed;
    expect([info.code, info.reason, info.wasClean]).toEqual([1001, 'heartbeat timeout', false]);
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['ERR_TIMEOUT', 'no answer to a ping within 10000 ms'],
    ]);
  });

  it('destroys a socket that has not opened within handshakeTimeout, in virtual time', async () => {
    const { server, port, scheduler } = await serverWith({ handshakeTimeout: 10_000 });
    const logs: LogEntry[] = [];
    server.logs$.subscribe((e) => logs.push(e));
    // The server holds the socket (and its handshake timer) once the connection stage passed it.
    const accepted = firstValueFrom(server.logs$.pipe(filter((e) => e.type === 'accepted')));
    const socket = await tcpConnect(port);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await accepted;
    advanceTo(scheduler, 9_999);
    expect(socket.destroyed).toBe(false);
    advanceTo(scheduler, 10_000);
    await closed;
    expect(
      logs.flatMap((e) => (e.type === 'refused' ? [[e.stage, e.code, e.reason]] : [])),
    ).toEqual([['handshake', 'ERR_TIMEOUT', 'no WebSocket handshake within 10000 ms']]);
  });

  it('fails a send that makes no progress for its timeout, in virtual time', async () => {
    const { server, port, scheduler } = await serverWith({ outBufferSize: 1024 });
    const opened = firstValueFrom(server.connections$);
    const client = await RawClient.open(port);
    client.socket.pause(); // the client stops reading: the kernel's buffers fill, then rxws's
    const conn = await opened;
    conn.timeout = 2;
    const big = conn.send(Buffer.alloc(64 * 1024 * 1024));
    await new Promise((resolve) => setImmediate(resolve));
    const queued = conn.send('behind it');
    expect(conn.stats.queuedMessages).toBe(1);
    advanceTo(scheduler, 1_999);
    expect(conn.stats.queuedMessages).toBe(1);
    advanceTo(scheduler, 2_000);
    await expect(queued).rejects.toMatchObject({
      code: 'ERR_TIMEOUT',
      message: `send on connection ${conn.id} made no progress for 2 s; nothing of it was sent`,
    });
    await expect(big).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
  });

  it("bounds the wait for the client's close frame with closeTimeout, in virtual time", async () => {
    const { server, port, scheduler } = await serverWith({ closeTimeout: 5_000 });
    const opened = firstValueFrom(server.connections$);
    const client = await RawClient.open(port);
    const conn = await opened;
    const closing = conn.disconnect(4000, 'bye');
    expect((await client.nextFrame())?.opcode).toBe(Op.CLOSE);
    advanceTo(scheduler, 4_999);
    expect(conn.state).toBe('CLOSING');
    advanceTo(scheduler, 5_000);
    const info = await closing;
    expect([info.code, info.reason, info.wasClean]).toEqual([4000, 'bye', false]);
  });
});
