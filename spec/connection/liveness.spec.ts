import { firstValueFrom } from 'rxjs';
import type { LogEntry } from '../../src';
import { Liveness, type LivenessTarget } from '../../src/connection/liveness';
import { Op, closePayload, frame } from '../helpers/frames';
import { RawClient } from '../helpers/raw';
import { rawConnection } from '../helpers/raw-connection';
import { cleanup, clientClosed, openClient, startServer } from '../helpers/server';

afterEach(cleanup);

/** A target whose byte count the test moves, recording what liveness did to it. */
function target(): LivenessTarget & { did: string[]; bytes: number; pausedNow: boolean } {
  const t = {
    did: [] as string[],
    bytes: 0,
    pausedNow: false,
    livenessBytes: 0,
    quietTicks: 0,
    pongTicks: -1,
    get bytesRead() {
      return t.bytes;
    },
    get paused() {
      return t.pausedNow;
    },
    sendHeartbeat: () => t.did.push('ping'),
    heartbeatFailed: (e: Error) => t.did.push(`failed: ${e.message}`),
    idleTimedOut: () => t.did.push('idle'),
  };
  return t;
}

/** Resolves at the server's close frame (pings before it are skipped), or at the socket's close. */
async function closeBegun(client: RawClient): Promise<void> {
  for (;;) {
    const f = await client.nextFrame();
    if (!f || f.opcode === Op.CLOSE) return;
  }
}

describe('Liveness (one sweep at a time)', () => {
  it('pings after interval of silence and fails the connection after timeout more', () => {
    const t = target();
    const live = new Liveness({ heartbeat: { interval: 40, timeout: 20 }, idleTimeout: 0 }, () => [
      t,
    ]);
    expect(live.tick).toBe(10);
    for (let i = 0; i < 4; i++) live.sweep();
    expect(t.did).toEqual(['ping']);
    live.sweep();
    expect(t.did).toEqual(['ping']);
    live.sweep();
    expect(t.did).toEqual(['ping', 'failed: no answer to a ping within 20 ms']);
  });

  it('takes any byte received as an answer, and a paused connection as alive', () => {
    const t = target();
    const live = new Liveness({ heartbeat: { interval: 40, timeout: 20 }, idleTimeout: 0 }, () => [
      t,
    ]);
    for (let i = 0; i < 4; i++) live.sweep();
    t.bytes = 2;
    for (let i = 0; i < 3; i++) live.sweep();
    expect(t.did).toEqual(['ping']);
    t.pausedNow = true;
    for (let i = 0; i < 20; i++) live.sweep();
    expect(t.did).toEqual(['ping']);
  });

  it('closes a connection idle for idleTimeout, and does nothing when both are off', () => {
    const t = target();
    const live = new Liveness({ heartbeat: false, idleTimeout: 100 }, () => [t]);
    expect(live.tick).toBe(25);
    for (let i = 0; i < 3; i++) live.sweep();
    expect(t.did).toEqual([]);
    live.sweep();
    expect(t.did).toEqual(['idle']);
    expect(new Liveness({ heartbeat: false, idleTimeout: 0 }, () => [t]).enabled).toBe(false);
  });
});

describe('heartbeat and idle timeout', () => {
  it('closes a peer that stops answering pings within interval + timeout', async () => {
    // Taken before the connection opens: liveness starts counting at open, never before.
    const started = Date.now();
    const { server, conn, client } = await rawConnection({
      heartbeat: { interval: 200, timeout: 300 },
      idleTimeout: 0,
    });
    const logs: LogEntry[] = [];
    server.logs$.subscribe((e) => logs.push(e));
    const ping = await client.nextFrame();
    expect(ping?.opcode).toBe(Op.PING);
    const info = await firstValueFrom(conn.closed$);
    const elapsed = Date.now() - started;
    expect(info).toMatchObject({ code: 1001, reason: 'heartbeat timeout', wasClean: false });
    expect(info.error?.code).toBe('ERR_TIMEOUT');
    // Not before interval + timeout (a late sweep only makes it later).
    expect(elapsed).toBeGreaterThanOrEqual(500);
    expect(logs.some((e) => e.type === 'close' && e.reason === 'heartbeat timeout')).toBe(true);
    await client.whenClosed();
  });

  it('keeps a client that answers pings open', async () => {
    const { server, url } = await startServer({
      heartbeat: { interval: 50, timeout: 100 },
      idleTimeout: 0,
    });
    const opened = firstValueFrom(server.connections$);
    const ws = await openClient(url);
    const conn = await opened;
    // ws answers each ping with a pong by itself.
    await new Promise<void>((resolve) => {
      let pings = 0;
      ws.on('ping', () => {
        if (++pings === 5) resolve();
      });
    });
    expect(conn.state).toBe('OPEN');
  });

  it('closes a connection that sends nothing for idleTimeout with 1001 "idle timeout"', async () => {
    // A long closeTimeout: the client's close frame may be read late on a loaded machine.
    const { conn, client } = await rawConnection({
      heartbeat: false,
      idleTimeout: 100,
      closeTimeout: 30_000,
    });
    const close = await client.nextFrame();
    expect(close).toMatchObject({ opcode: Op.CLOSE, payload: closePayload(1001, 'idle timeout') });
    client.write(frame(Op.CLOSE, closePayload(1001)));
    expect(await firstValueFrom(conn.closed$)).toEqual({ code: 1001, reason: '', wasClean: true });
  });

  it('does not close a paused connection for its silence', async () => {
    const { server, url, port } = await startServer({
      heartbeat: { interval: 50, timeout: 50 },
      idleTimeout: 100,
    });
    const opened = firstValueFrom(server.connections$);
    const ws = await openClient(url);
    const conn = await opened;
    conn.pause();
    // A second client that stays silent: once the server has begun to close it (its close frame,
    // or the socket's end), enough sweeps have run to close the paused one too, had its silence
    // counted. Not its whole close: that waits closeTimeout for an answer that never comes.
    const silent = await RawClient.open(port);
    await closeBegun(silent);
    silent.destroy();
    expect(conn.state).toBe('OPEN');
    conn.resume();
    const closed = clientClosed(ws);
    await conn.disconnect();
    expect((await closed).code).toBe(1000);
  });
});
