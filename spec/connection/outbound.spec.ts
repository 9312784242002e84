import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import { Outbound, type OverflowHandler } from '../../src/connection/outbound';
import { Op, parseFrames } from '../helpers/frames';

/**
 * Outbound driven with a fake socket, as ws tests its Sender: a Writable that holds every write
 * until the test lets it finish, so the socket's buffer and its drains are the test's to decide.
 */
class FakeSocket extends Writable {
  /** Each write() or writev() the socket received, as the bytes it carried. */
  readonly writes: Buffer[] = [];
  private readonly held: Array<() => void> = [];

  constructor(highWaterMark: number) {
    super({
      highWaterMark,
      write: (chunk: Buffer, _enc, cb) => {
        this.writes.push(chunk);
        this.held.push(cb);
      },
      writev: (chunks, cb) => {
        this.writes.push(Buffer.concat(chunks.map((c) => c.chunk as Buffer)));
        this.held.push(cb);
      },
    });
  }

  /** Finishes every held write: the kernel took the bytes. */
  flushWrites(): void {
    for (const cb of this.held.splice(0)) cb();
  }

  /** Every frame written so far. */
  frames(): ReturnType<typeof parseFrames>['frames'] {
    return parseFrames(Buffer.concat(this.writes)).frames;
  }
}

/** An open WebSocket without extensions, as Outbound reads it. */
const ws = { extensions: '', readyState: 1 } as unknown as WebSocket;

function handler(): OverflowHandler & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    overflowError: (code) => new Error(code),
    overflowed: (policy, bytes, fromSink) => events.push(`${policy} ${bytes} ${fromSink}`),
    readyChanged: (ready) => events.push(`ready ${ready}`),
  };
}

function make(highWaterMark = 16): {
  socket: FakeSocket;
  out: Outbound;
  h: ReturnType<typeof handler>;
} {
  const socket = new FakeSocket(1024);
  const out = new Outbound(ws, socket as unknown as Socket, highWaterMark);
  const h = handler();
  out.overflow = h;
  return { socket, out, h };
}

const tick = (): Promise<void> => new Promise((r) => process.nextTick(r));

describe('Outbound', () => {
  it('writes each message as one unmasked frame and counts it', async () => {
    const { socket, out } = make(1024);
    out.send('héllo', false);
    out.send(Buffer.from([1, 2]), true);
    await tick();
    expect(socket.frames()).toEqual([
      { fin: true, opcode: Op.TEXT, payload: Buffer.from('héllo') },
      { fin: true, opcode: Op.BINARY, payload: Buffer.from([1, 2]) },
    ]);
    expect([out.messagesOut, out.bytesOut]).toEqual([2, 8]);
  });

  it('coalesces the frames sent in one tick into one writev', async () => {
    const { socket, out } = make(1024);
    for (const m of ['a', 'b', 'c']) out.send(m, false);
    expect(socket.writes).toHaveLength(0);
    await tick();
    expect(socket.writes).toHaveLength(1);
    expect(socket.frames().map((f) => f.payload.toString())).toEqual(['a', 'b', 'c']);
  });

  it('queues past the high-water mark, and sends in order with a ready edge on drain', async () => {
    const { socket, out, h } = make(16);
    const done: string[] = [];
    out.send('x'.repeat(20), false, () => done.push('first'));
    await tick();
    expect(out.ready).toBe(false);
    out.send('second', false, () => done.push('second'));
    out.send('third', false, () => done.push('third'));
    expect([out.queued, out.queuedBytes]).toEqual([2, 11]);
    expect(h.events).toEqual(['ready false']);
    socket.flushWrites();
    await tick();
    await tick();
    socket.flushWrites();
    await new Promise((r) => setImmediate(r));
    expect(done).toEqual(['first', 'second', 'third']);
    expect(socket.frames().map((f) => f.payload.toString())).toEqual([
      'x'.repeat(20),
      'second',
      'third',
    ]);
    expect(out.queued).toBe(0);
    expect(h.events).toEqual(['ready false', 'ready true']);
  });

  it('applies the overflow policy to a send past the bound and fails its callback after', async () => {
    const { out, h } = make(1);
    out.limit = { bytes: 4, messages: 10 };
    out.policy = 'drop-newest';
    out.send('fill', false);
    await tick();
    out.send('1234', false);
    let failed: Error | null | undefined;
    out.send('12345', false, (err) => (failed = err));
    expect(failed).toBeUndefined();
    await tick();
    expect(failed?.message).toBe('ERR_DROPPED');
    expect(h.events).toEqual(['ready false', 'drop-newest 5 false']);
    expect([out.queued, out.queuedBytes]).toEqual([1, 4]);
  });

  it('splits a message longer than maxFrameSize into continuation frames', async () => {
    const { socket, out } = make(1024);
    out.maxFrameSize = 4;
    out.send('abcdefghij', false);
    await tick();
    expect(socket.frames().map((f) => [f.fin, f.opcode, f.payload.toString()])).toEqual([
      [false, Op.TEXT, 'abcd'],
      [false, Op.CONT, 'efgh'],
      [true, Op.CONT, 'ij'],
    ]);
    expect([out.messagesOut, out.bytesOut]).toEqual([1, 10]);
  });

  it('fails every queued send when the queue fails, and says how many', async () => {
    const { out } = make(1);
    out.send('fill', false);
    await tick();
    const errors: unknown[] = [];
    out.send('a', false, (err) => errors.push(err));
    out.send('b', false, (err) => errors.push(err));
    expect(out.failQueued(() => new Error('closed'))).toBe(2);
    expect(errors.map((e) => (e as Error).message)).toEqual(['closed', 'closed']);
    expect([out.queued, out.idle]).toEqual([0, true]);
  });
});
