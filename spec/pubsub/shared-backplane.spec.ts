import { firstValueFrom } from 'rxjs';
import type WebSocket from 'ws';
import { memoryBackplane, type RxwsServer } from '../../src';
import { cleanup, openClient, startServer } from '../helpers/server';

afterEach(cleanup);

/** The next `n` messages a client receives, as text. */
function received(ws: WebSocket, n: number): Promise<string[]> {
  return new Promise((resolve) => {
    const got: string[] = [];
    const on = (data: Buffer): void => {
      got.push(data.toString());
      if (got.length === n) {
        ws.off('message', on);
        resolve(got);
      }
    };
    ws.on('message', on);
  });
}

/** A client of `server` subscribed to `topic` (resolves once the server has subscribed it). */
async function subscriber(server: RxwsServer, url: string, topic: string): Promise<WebSocket> {
  const opened = firstValueFrom(server.connections$);
  const ws = await openClient(url);
  (await opened).subscribe(topic);
  return ws;
}

describe('createServer({ backplane })', () => {
  it('shares topics between servers given the same memoryBackplane(): each message once, in order', async () => {
    const backplane = memoryBackplane();
    const a = await startServer({ backplane });
    const b = await startServer({ backplane });
    const onA = await subscriber(a.server, a.url, 'room');
    const onB = await subscriber(b.server, b.url, 'room');
    const gotA = received(onA, 4);
    const gotB = received(onB, 4);
    a.server.publish('room', 'a1');
    b.server.publish('room', 'b1');
    a.server.publish('room', 'a2');
    b.server.publish('room', 'b2');
    const [fromA, fromB] = await Promise.all([gotA, gotB]);
    // Each sees all four exactly once; each publisher's messages in the order published.
    for (const got of [fromA, fromB]) {
      expect([...got].sort()).toEqual(['a1', 'a2', 'b1', 'b2']);
      expect(got.filter((m) => m.startsWith('a'))).toEqual(['a1', 'a2']);
      expect(got.filter((m) => m.startsWith('b'))).toEqual(['b1', 'b2']);
    }
  });

  it('keeps servers with their own backplanes apart (the default)', async () => {
    const a = await startServer();
    const b = await startServer();
    const onA = await subscriber(a.server, a.url, 'room');
    const onB = await subscriber(b.server, b.url, 'room');
    const gotA = received(onA, 1);
    const gotB = received(onB, 1);
    b.server.publish('room', 'only b');
    a.server.publish('room', 'only a');
    expect(await gotA).toEqual(['only a']);
    expect(await gotB).toEqual(['only b']);
  });
});
