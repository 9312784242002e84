import { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { firstValueFrom } from 'rxjs';
import { StreamingReceiver } from '../../src/connection/receiver';
import { Op, closePayload, frame } from '../helpers/frames';
import { rawConnection } from '../helpers/raw-connection';
import { cleanup } from '../helpers/server';

afterAll(cleanup);

describe("ws's close path, without the errors nobody sees", () => {
  afterEach(() => jest.restoreAllMocks());

  it('returns at once from end() on an ended receiver; end(cb) still gets Node’s error', async () => {
    const receiver = new StreamingReceiver({ isServer: true });
    receiver.end();
    await new Promise((r) => receiver.once('finish', r));
    const end = jest.spyOn(Writable.prototype, 'end');
    expect(receiver.end()).toBe(receiver);
    expect(end).not.toHaveBeenCalled();
    const err = await new Promise<unknown>((r) => receiver.end(r));
    expect(end).toHaveBeenCalledTimes(1);
    expect((err as NodeJS.ErrnoException).code).toBe('ERR_STREAM_ALREADY_FINISHED');
  });

  it('ends the server socket once in a close started by the client, and closes cleanly', async () => {
    const { conn, client } = await rawConnection();
    const clientPort = client.socket.localPort;
    const end = jest.spyOn(Socket.prototype, 'end');
    const closed = firstValueFrom(conn.closed$);
    client.write(frame(Op.CLOSE, closePayload(1000)));
    expect(await client.nextFrame()).toMatchObject({ opcode: Op.CLOSE });
    client.socket.end();
    expect(await closed).toEqual({ code: 1000, reason: '', wasClean: true });
    const serverSide = end.mock.contexts.filter((s) => (s as Socket).remotePort === clientPort);
    expect(serverSide).toHaveLength(1);
  });

  it('still ends the server socket when the client ends first, without a close frame', async () => {
    const { conn, client } = await rawConnection();
    const closed = firstValueFrom(conn.closed$);
    client.socket.end();
    await client.whenClosed();
    expect(await closed).toEqual({ code: 1006, reason: '', wasClean: false });
  });
});
