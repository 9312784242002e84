import { constants as zlib, deflateRawSync } from 'node:zlib';
import { firstValueFrom } from 'rxjs';
import type { Message } from '../../src';
import { closePayload, frame, Op } from '../helpers/frames';
import { gc } from '../helpers/gc';
import { RawClient } from '../helpers/raw';
import { rawConnection } from '../helpers/raw-connection';
import { cleanup, openClient, startServer } from '../helpers/server';

afterEach(cleanup);

const tick = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The frame header of a masked client frame with a zero-free mask, for a payload written later. */
function header(opcode: number, length: number, fin: boolean, key: Buffer): Buffer {
  const lenBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const h = Buffer.alloc(2 + lenBytes + 4);
  h[0] = (fin ? 0x80 : 0) | opcode;
  h[1] = 0x80 | (lenBytes === 0 ? length : lenBytes === 2 ? 126 : 127);
  if (lenBytes === 2) h.writeUInt16BE(length, 2);
  if (lenBytes === 8) h.writeBigUInt64BE(BigInt(length), 2);
  key.copy(h, 2 + lenBytes);
  return h;
}

const buffers = [Buffer.alloc(1024 * 1024), Buffer.alloc(1024 * 1024)];

/**
 * Writes `total` payload bytes (byte i = i mod 251) masked with `key`, 1 MiB at a time through
 * two reused buffers (each write awaited), so the client side of the test adds no garbage.
 */
async function writePayload(
  client: RawClient,
  total: number,
  key: Buffer,
  from = 0,
): Promise<void> {
  const step = buffers[0].length;
  for (let at = 0, k = 0; at < total; at += step, k++) {
    const n = Math.min(step, total - at);
    const chunk = buffers[k & 1].subarray(0, n);
    for (let i = 0; i < n; i++) chunk[i] = ((from + at + i) % 251) ^ key[(at + i) & 3];
    await new Promise<void>((resolve, reject) =>
      client.socket.write(chunk, (err) => (err ? reject(err) : resolve())),
    );
  }
}

describe('fragments$ (streaming inbound)', () => {
  const SIZE = 64 * 1024 * 1024;

  async function receive64MiB(send: (client: RawClient) => Promise<void>): Promise<void> {
    const { conn, client } = await rawConnection({ bufferMessage: false, maxPayload: 1024 });
    // Warm-up: one 64 MiB message first, so the heap has grown to its working size (young
    // generation, compiled code) before the baseline; what remains is what the message costs.
    const warm = new Promise<void>((resolve) => {
      const s = conn.fragments$.subscribe((p) => {
        if (!p.eom) return;
        s.unsubscribe();
        resolve();
      });
    });
    const warmKey = Buffer.from([1, 2, 3, 4]);
    client.write(header(Op.BINARY, SIZE, true, warmKey));
    await writePayload(client, SIZE, warmKey);
    await warm;
    gc();
    let bytes = 0;
    let pieces = 0;
    let eoms = 0;
    let mismatch = -1;
    let peak = 0;
    const baseline = process.memoryUsage.rss();
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss() - baseline);
    }, 10);
    const done = new Promise<void>((resolve) =>
      conn.fragments$.subscribe((piece) => {
        const data = piece.data as Buffer;
        // Check the content at the piece's first byte: it must continue where the last ended.
        if (data.length > 0 && mismatch < 0 && data[0] !== bytes % 251) mismatch = bytes;
        // Collect the garbage of the pieces every 8 MiB (see helpers/gc.ts).
        if (Math.floor((bytes + data.length) / 8388608) > Math.floor(bytes / 8388608)) gc();
        bytes += data.length;
        pieces++;
        if (piece.eom) {
          eoms++;
          resolve();
        }
      }),
    );
    await send(client);
    await done;
    clearInterval(sampler);
    expect({ bytes, eoms, mismatch }).toEqual({ bytes: SIZE, eoms: 1, mismatch: -1 });
    expect(pieces).toBeGreaterThan(64);
    expect(conn.stats.messagesIn).toBe(2);
    expect(conn.stats.bytesIn).toBe(2 * SIZE);
    // Far less than the message: it was never held whole (maxPayload 1 KiB did not apply either).
    expect(peak).toBeLessThan(16 * 1024 * 1024);
  }

  it('delivers one 64 MiB frame in pieces as it arrives, without holding it', async () => {
    await receive64MiB(async (client) => {
      const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
      client.write(header(Op.BINARY, SIZE, true, key));
      await writePayload(client, SIZE, key);
    });
  }, 60_000);

  it('delivers a 64 MiB message sent as 1,024 fragments, with eom only on the last', async () => {
    await receive64MiB(async (client) => {
      const each = SIZE / 1024;
      for (let f = 0; f < 1024; f++) {
        const key = Buffer.from([f & 0xff, 0x5a, 0xa5, 0x01]);
        client.write(header(f === 0 ? Op.BINARY : Op.CONT, each, f === 1023, key));
        await writePayload(client, each, key, f * each);
      }
    });
  }, 60_000);

  it('never cuts a character inside a text piece, across frame and chunk boundaries', async () => {
    const { conn, client } = await rawConnection({ bufferMessage: false });
    const text = 'añb€c😀d'.repeat(20);
    const bytes = Buffer.from(text);
    const pieces: Message[] = [];
    const done = new Promise<void>((resolve) =>
      conn.fragments$.subscribe((p) => {
        pieces.push(p);
        if (p.eom) resolve();
      }),
    );
    // Frames cut at every 7 bytes (inside characters), each frame written in two chunks.
    for (let at = 0, f = 0; at < bytes.length; at += 7, f++) {
      const payload = bytes.subarray(at, at + 7);
      const fin = at + 7 >= bytes.length;
      const wire = frame(f === 0 ? Op.TEXT : Op.CONT, payload, { fin });
      client.write(wire.subarray(0, 8));
      await tick(1);
      client.write(wire.subarray(8));
      await tick(1);
    }
    await done;
    expect(pieces.length).toBeGreaterThan(10);
    for (const p of pieces) {
      expect(typeof p.data).toBe('string');
      expect(p.data as string).not.toContain('\uFFFD');
    }
    expect(pieces.map((p) => p.data).join('')).toBe(text);
    expect(pieces.filter((p) => p.eom)).toHaveLength(1);
  });

  it('closes with 1007 on invalid UTF-8 in the 3rd fragment, before the message ends', async () => {
    const { conn, client, errors } = await rawConnection({ bufferMessage: false });
    const seen: string[] = [];
    conn.fragments$.subscribe((p) => seen.push(p.data as string));
    client.write(frame(Op.TEXT, 'one ', { fin: false }));
    client.write(frame(Op.CONT, 'two ', { fin: false }));
    client.write(frame(Op.CONT, Buffer.from([0x61, 0xff, 0x62]), { fin: false }));
    // No final fragment is ever sent: the close must come from the bad bytes alone.
    const close = await client.nextFrame();
    expect(close?.opcode).toBe(Op.CLOSE);
    expect(close?.payload.readUInt16BE(0)).toBe(1007);
    expect(seen).toEqual(['one ', 'two ']);
    expect(errors.map((e) => [e.code, e.closeCode])).toEqual([['ERR_INVALID_PAYLOAD', 1007]]);
  });

  it('closes with 1007 as soon as a cut character cannot be valid (E0 80)', async () => {
    const { client } = await rawConnection({ bufferMessage: false });
    client.write(frame(Op.TEXT, Buffer.from([0x61, 0xe0, 0x80]), { fin: false }));
    const close = await client.nextFrame();
    expect(close?.payload.readUInt16BE(0)).toBe(1007);
  });

  it('answers a ping sent between fragments and completes the message after it', async () => {
    const { conn, client } = await rawConnection();
    const message = firstValueFrom(conn.messages$);
    client.write(frame(Op.TEXT, 'frag', { fin: false }));
    client.write(frame(Op.PING, 'are you there'));
    const pong = await client.nextFrame();
    expect(pong?.opcode).toBe(Op.PONG);
    expect(pong?.payload.toString()).toBe('are you there');
    client.write(frame(Op.CONT, 'mented', { fin: true }));
    expect((await message).data).toBe('fragmented');
    client.write(frame(Op.CLOSE, closePayload(1000)));
  });

  it('bufferMessage: false puts pieces with eom on server.messages$; true (default) whole messages', async () => {
    for (const bufferMessage of [false, true]) {
      const { server, port } = await startServer({ bufferMessage });
      const got: Array<[string, boolean]> = [];
      server.messages$.subscribe((m) => got.push([m.data as string, m.eom]));
      const client = await RawClient.open(port);
      client.write(frame(Op.TEXT, 'ab', { fin: false }));
      client.write(frame(Op.CONT, 'cd', { fin: true }));
      client.write(frame(Op.PING));
      await client.nextFrame();
      expect(got).toEqual(
        bufferMessage
          ? [['abcd', true]]
          : [
              ['ab', false],
              ['cd', true],
            ],
      );
      client.destroy();
    }
  });

  it('a messages$ subscriber that comes mid-message gets the next whole message, not a tail', async () => {
    const { conn, client } = await rawConnection({ bufferMessage: false });
    client.write(frame(Op.TEXT, 'lost ', { fin: false }));
    client.write(frame(Op.PING));
    await client.nextFrame();
    const messages: string[] = [];
    conn.messages$.subscribe((m) => messages.push(m.data as string));
    client.write(frame(Op.CONT, 'tail', { fin: true }));
    client.write(frame(Op.TEXT, 'whole'));
    client.write(frame(Op.PING));
    await client.nextFrame();
    expect(messages).toEqual(['whole']);
  });

  it('reassembles 4 MiB sent in 64-byte fragments (ws would close 1008 at 16,384)', async () => {
    const { conn, client } = await rawConnection();
    const message = firstValueFrom(conn.messages$);
    const part = Buffer.alloc(64, 0x61);
    const frames: Buffer[] = [];
    const count = 65536;
    for (let i = 0; i < count; i++) {
      frames.push(frame(i === 0 ? Op.BINARY : Op.CONT, part, { fin: i === count - 1, mask: true }));
    }
    client.write(Buffer.concat(frames));
    const m = await message;
    expect(m.data.length).toBe(4 * 1024 * 1024);
    expect(m.eom).toBe(true);
  }, 30_000);

  it('closes with 1008 past maxFragments, and with 1009 past maxPayload when reassembling', async () => {
    const a = await rawConnection({ maxFragments: 3 });
    for (let i = 0; i < 4; i++) a.client.write(frame(i ? Op.CONT : Op.TEXT, 'x', { fin: false }));
    const c1 = await a.client.nextFrame();
    expect(c1?.payload.readUInt16BE(0)).toBe(1008);
    expect(a.errors.map((e) => e.code)).toEqual(['ERR_PROTOCOL']);

    // Streaming mode: the wire is not bounded, but conn.messages$ reassembles up to maxPayload.
    const b = await rawConnection({ bufferMessage: false, maxPayload: 10 });
    const pieces: unknown[] = [];
    b.conn.fragments$.subscribe((p) => pieces.push(p.data));
    b.conn.messages$.subscribe({ error: () => undefined });
    b.client.write(frame(Op.BINARY, Buffer.alloc(8), { fin: false }));
    b.client.write(frame(Op.CONT, Buffer.alloc(8), { fin: false }));
    const c2 = await b.client.nextFrame();
    expect(c2?.payload.readUInt16BE(0)).toBe(1009);
    expect(b.errors.map((e) => [e.code, e.closeCode])).toEqual([['ERR_MESSAGE_TOO_BIG', 1009]]);
    expect(pieces).toHaveLength(2);
  });

  it('permessage-deflate: whole messages, and pieces that join to the message when streaming', async () => {
    for (const bufferMessage of [true, false]) {
      const { server, url } = await startServer({ perMessageDeflate: true, bufferMessage });
      const opened = firstValueFrom(server.connections$);
      const client = await openClient(url, undefined, { perMessageDeflate: true });
      const conn = await opened;
      expect(conn.request.extensions).toContain('permessage-deflate');
      const text = 'compressible '.repeat(10_000);
      const pieces: Message[] = [];
      const done = new Promise<void>((resolve) =>
        conn.fragments$.subscribe((p) => {
          pieces.push(p);
          if (p.eom) resolve();
        }),
      );
      const whole = firstValueFrom(conn.messages$);
      // Sent as 4 frames so there is more than one piece.
      const quarter = text.length / 4;
      for (let i = 0; i < 4; i++) {
        client.send(text.slice(i * quarter, (i + 1) * quarter), { fin: i === 3 });
      }
      await done;
      expect(pieces.map((p) => p.data).join('')).toBe(text);
      expect(pieces.length).toBeGreaterThanOrEqual(4);
      expect((await whole).data).toBe(text);
      client.close();
    }
  });

  describe('permessage-deflate, streamed', () => {
    const EXT = ['Sec-WebSocket-Extensions: permessage-deflate'];

    /** `data` compressed as a permessage-deflate sender does (RFC 7692 7.2.1). */
    function compress(data: Buffer): Buffer {
      const out = deflateRawSync(data, { finishFlush: zlib.Z_SYNC_FLUSH });
      return out.subarray(0, out.length - 4);
    }

    async function rawDeflateClient(options: Parameters<typeof startServer>[0]): Promise<{
      conn: Awaited<ReturnType<typeof firstValueFrom<Message['connection']>>>;
      client: RawClient;
      errors: string[];
    }> {
      const { server, port } = await startServer({
        closeTimeout: 200,
        perMessageDeflate: true,
        ...options,
      });
      const errors: string[] = [];
      server.errors$.subscribe((e) => errors.push(`${e.code} ${e.closeCode}`));
      const opened = firstValueFrom(server.connections$);
      const client = await RawClient.open(port, '/', EXT);
      return { conn: await opened, client, errors };
    }

    it('inflates a 64 MiB message sent as one 64 KiB compressed frame in pieces, never whole', async () => {
      const SIZE = 64 * 1024 * 1024;
      const compressed = compress(Buffer.alloc(SIZE, 7));
      expect(compressed.length).toBeLessThan(128 * 1024);
      const { conn, client } = await rawDeflateClient({ bufferMessage: false });
      let bytes = 0;
      let pieces = 0;
      let largest = 0;
      let wrong = 0;
      let eoms = 0;
      let peak = 0;
      const run = async (): Promise<void> => {
        const done = new Promise<void>((resolve) => {
          const s = conn.fragments$.subscribe((piece) => {
            const data = piece.data as Buffer;
            if (Math.floor((bytes + data.length) / 8388608) > Math.floor(bytes / 8388608)) gc();
            bytes += data.length;
            pieces++;
            largest = Math.max(largest, data.length);
            if (data.some((b) => b !== 7)) wrong++;
            if (piece.eom) {
              eoms++;
              s.unsubscribe();
              resolve();
            }
          });
        });
        client.write(frame(Op.BINARY, compressed, { rsv: 4 }));
        await done;
      };
      await run(); // warm-up, as above
      gc();
      ({ bytes, pieces, largest, wrong, eoms } = {
        bytes: 0,
        pieces: 0,
        largest: 0,
        wrong: 0,
        eoms: 0,
      });
      const baseline = process.memoryUsage.rss();
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage.rss() - baseline);
      }, 10);
      await run();
      clearInterval(sampler);
      expect({ bytes, eoms, wrong }).toEqual({ bytes: SIZE, eoms: 1, wrong: 0 });
      expect(pieces).toBeGreaterThan(1000);
      expect(largest).toBeLessThanOrEqual(64 * 1024);
      expect(peak).toBeLessThan(16 * 1024 * 1024);
    }, 60_000);

    it('bounds an inflated message by maxPayload when reassembling: 1009', async () => {
      const { conn, client, errors } = await rawDeflateClient({ maxPayload: 1024 * 1024 });
      const messages: Message[] = [];
      conn.messages$.subscribe((m) => messages.push(m));
      // 2 MiB inflated from about 2 KiB on the wire.
      client.write(frame(Op.BINARY, compress(Buffer.alloc(2 * 1024 * 1024)), { rsv: 4 }));
      const close = await client.nextFrame();
      expect(close?.opcode).toBe(Op.CLOSE);
      expect(close?.payload.readUInt16BE(0)).toBe(1009);
      expect(messages).toEqual([]);
      expect(errors).toEqual(['ERR_MESSAGE_TOO_BIG 1009']);
    });

    it('closes 1007 on data that does not inflate', async () => {
      const { client } = await rawDeflateClient({ bufferMessage: false });
      // A deflate block of the reserved type 3.
      client.write(frame(Op.BINARY, Buffer.from([0xff, 0xff, 0xff, 0xff]), { rsv: 4 }));
      const close = await client.nextFrame();
      expect(close?.opcode).toBe(Op.CLOSE);
      expect(close?.payload.readUInt16BE(0)).toBe(1007);
    });

    it('keeps multi-byte characters whole across inflated chunks, message after message', async () => {
      const text = 'a€é😀'.repeat(100_000); // 1 MB of UTF-8, cut by zlib's 16 KiB chunks
      for (const clientNoContextTakeover of [false, true]) {
        const { server, url } = await startServer({
          perMessageDeflate: true,
          bufferMessage: false,
        });
        const opened = firstValueFrom(server.connections$);
        const client = await openClient(url, undefined, {
          perMessageDeflate: { clientNoContextTakeover },
        });
        const conn = await opened;
        const messages: string[] = [];
        let current = '';
        let pieces = 0;
        let broken = 0;
        const done = new Promise<void>((resolve) =>
          conn.fragments$.subscribe((p) => {
            const piece = p.data as string;
            if (piece.includes('\uFFFD')) broken++;
            current += piece;
            pieces++;
            if (!p.eom) return;
            messages.push(current);
            current = '';
            if (messages.length === 3) resolve();
          }),
        );
        for (let i = 0; i < 3; i++) client.send(`${i}${text}`);
        await done;
        expect(messages).toEqual([0, 1, 2].map((i) => `${i}${text}`));
        expect(broken).toBe(0);
        expect(pieces).toBeGreaterThan(3 * 30);
        client.close();
      }
    });
  });
});
