import { firstValueFrom } from 'rxjs';
import { gc } from '../helpers/gc';
import { Op, closePayload, frame } from '../helpers/frames';
import { rawConnection } from '../helpers/raw-connection';
import { cleanup } from '../helpers/server';
import type { RawClient } from '../helpers/raw';

afterEach(cleanup);

/**
 * `count` fragments of one binary message, `size` bytes each, masked with a zero key (a valid
 * mask that leaves the bytes as they are), payload byte i is i & 0xff. Built in one buffer.
 */
function fragments(count: number, size: number, from = 0, last = count - 1): Buffer {
  const frameLength = 6 + size;
  const out = Buffer.alloc(count * frameLength);
  for (let i = 0; i < count; i++) {
    const n = from + i;
    const at = i * frameLength;
    out[at] = (n === last ? 0x80 : 0) | (n === 0 ? Op.BINARY : Op.CONT);
    out[at + 1] = 0x80 | size;
    // bytes 2-5: the zero mask key
    for (let j = 0; j < size; j++) out[at + 6 + j] = (n * size + j) & 0xff;
  }
  return out;
}

/**
 * Live memory now: V8's heap and the memory of Buffers, after full collections (the second
 * finishes freeing the Buffers the first found dead).
 */
function liveBytes(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Writes in slices, waiting for each to be taken, so the client's memory stays small. */
async function send(client: RawClient, data: Buffer): Promise<void> {
  const slice = 1 << 20;
  for (let at = 0; at < data.length && !client.closed; at += slice) {
    if (!client.socket.write(data.subarray(at, at + slice))) {
      await new Promise<void>((r) => {
        const done = (): void => {
          client.socket.off('drain', done);
          client.socket.off('close', done);
          r();
        };
        client.socket.once('drain', done);
        client.socket.once('close', done);
      });
    }
  }
}

/**
 * Resolves once the server has read everything written so far: it answers a ping written after
 * it (a control frame may come between fragments), or closes.
 */
async function serverRead(client: RawClient): Promise<void> {
  client.write(frame(Op.PING));
  for (;;) {
    const f = await client.nextFrame();
    if (!f || f.opcode === Op.PONG || f.opcode === Op.CLOSE) return;
  }
}

describe('a message cut into many fragments', () => {
  it('closes a flood of 1.5 million one-byte fragments with 1008 at maxFragments (default 131072)', async () => {
    const { conn, client } = await rawConnection();
    // Made (and kept) before the first measure, so the client's own 10 MB are not counted.
    const data = fragments(1_500_000, 1);
    const before = liveBytes();
    const closed = firstValueFrom(conn.closed$);
    const flood = send(client, data);
    const frame = await client.nextFrame();
    expect(frame?.opcode).toBe(Op.CLOSE);
    expect(frame?.payload).toEqual(closePayload(1008, 'Too many fragments'));
    expect((await closed).error?.code).toBe('ERR_PROTOCOL');
    expect(conn.stats.bytesIn).toBeGreaterThanOrEqual(131_072);
    expect(conn.stats.bytesIn).toBeLessThan(1_500_000);
    client.destroy();
    await flood;
    // The connection is gone: nothing of the 131,072 pieces it took is left.
    expect(liveBytes() - before).toBeLessThan(4 * 1024 * 1024);
    expect(data.length).toBe(1_500_000 * 7);
  }, 120_000);

  it('holds a message in memory proportional to its bytes, however finely it is cut', async () => {
    const maxPayload = 4 * 1024 * 1024;
    const { conn, client } = await rawConnection({ maxFragments: 0, maxPayload });
    const total = 1_500_000;
    const data = fragments(total - 1, 1, 0, total - 1);
    const before = liveBytes();
    // All but the last fragment: the server holds 1,499,999 one-byte pieces of one message.
    await send(client, data);
    await serverRead(client);
    expect(conn.stats.bytesIn).toBe(total - 1);
    const held = liveBytes() - before;
    expect(data.length).toBe((total - 1) * 7);
    // Before, each piece was kept as its own Buffer: 172 MiB of heap for this message.
    expect(held).toBeLessThan(maxPayload + 16 * 1024 * 1024);
    const echoed = firstValueFrom(conn.messages$);
    await send(client, fragments(1, 1, total - 1, total - 1));
    const message = await echoed;
    expect(message.format).toBe('binary');
    expect(message.data.length).toBe(total);
    const got = message.data as Buffer;
    expect([got[0], got[255], got[256], got[total - 1]]).toEqual([0, 255, 0, (total - 1) & 0xff]);
  }, 120_000);

  it('passes a 4 MiB message in 65,536 fragments of 64 bytes with the defaults', async () => {
    const { conn, client } = await rawConnection();
    const received = firstValueFrom(conn.messages$);
    await send(client, fragments(65_536, 64));
    const message = await received;
    expect(message.data.length).toBe(4 * 1024 * 1024);
    const data = message.data as Buffer;
    let wrong = 0;
    for (let i = 0; i < data.length; i++) if (data[i] !== (i & 0xff)) wrong++;
    expect(wrong).toBe(0);
    expect(conn.state).toBe('OPEN');
  }, 120_000);
});
