/**
 * examples/chat: its server logic with `ws` clients (one instance, rooms in memory), then the
 * whole example in headless Chromium, two instances in their own processes sharing rooms through
 * the shared Redis server under a prefix of this run's own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import WebSocket from 'ws';
import { SHARED_REDIS, deleteKeys } from '../helpers/redis';

const root = join(__dirname, '../..');
/** A safety net for waits on a loaded machine, never what a test measures. */
const PATIENCE = 30_000;

/** One examples/chat/server.ts process on 127.0.0.1, port 0. */
class Chat {
  private constructor(
    private readonly child: ChildProcess,
    /** `http://127.0.0.1:<port>/`, as the example prints it. */
    readonly url: string,
    /** Resolves with its exit code (or signal) once it has ended. */
    readonly exited: Promise<number | string>,
  ) {}

  /** Starts one; resolves once it prints its URL. `redis`: share rooms through Redis. */
  static start(redis?: { prefix: string }): Promise<Chat> {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1' };
    delete env.REDIS_URL;
    if (redis) Object.assign(env, { REDIS_URL: SHARED_REDIS, CHAT_REDIS_PREFIX: redis.prefix });
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/chat/server.ts'], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | string>((resolve) =>
      child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
    );
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        const url = /^chat: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(out)?.[1];
        if (url) resolve(new Chat(child, url, exited));
      });
      void exited.then((code) => reject(new Error(`chat server exited with ${code}:\n${out}`)));
    });
  }

  /** `ws://` URL of the chat socket for this room and name. */
  socketUrl(room: string, name: string): string {
    return `${this.url.replace('http:', 'ws:')}chat?room=${room}&name=${name}`;
  }

  /** Sends SIGTERM; resolves with the exit code once the process has ended. */
  stop(): Promise<number | string> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** A `ws` client of the chat: what it received, parsed, and how it closed. */
class Client {
  readonly received: Record<string, unknown>[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private wake: (() => void) | undefined;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.received.push(JSON.parse(data.toString()));
      this.wake?.();
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  static async open(url: string): Promise<Client> {
    const client = new Client(new WebSocket(url));
    await new Promise((resolve, reject) => {
      client.ws.once('open', resolve);
      client.ws.once('error', reject);
    });
    return client;
  }

  /** Resolves once `n` messages have arrived in all; each without its `at` (checked here). */
  async count(n: number): Promise<Record<string, unknown>[]> {
    while (this.received.length < n) await new Promise<void>((r) => (this.wake = r));
    return this.received.map(({ at, ...rest }) => {
      if (at !== undefined) expect(typeof at).toBe('number');
      return rest;
    });
  }
}

describe('examples/chat/server.ts', () => {
  let chat: Chat;
  const clients: Client[] = [];
  const open = async (room: string, name: string): Promise<Client> => {
    const client = await Client.open(chat.socketUrl(room, name));
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    chat = await Chat.start();
  }, 60_000);
  afterEach(async () => {
    for (const client of clients.splice(0)) {
      client.ws.close();
      await client.closed;
    }
  });
  afterAll(async () => {
    expect(await chat?.stop()).toBe(0);
  }, 60_000);

  it('serves the page at / and answers 404 elsewhere', async () => {
    const page = await fetch(chat.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('<title>rxws chat</title>');
    const other = await fetch(`${chat.url}nope`);
    expect(other.status).toBe(404);
    await other.text();
  });

  it.each([
    ['a name with a space', 'lobby', 'al ice', 'name must be 1 to 32 letters, digits, _ or -'],
    ['no room', '', 'alice', 'room must be 1 to 32 letters, digits, _ or -'],
    [
      'a room of 33 characters',
      'r'.repeat(33),
      'alice',
      'room must be 1 to 32 letters, digits, _ or -',
    ],
  ])('refuses an upgrade with %s: 400 and the reason', async (_what, room, name, reason) => {
    const ws = new WebSocket(chat.socketUrl(room, name));
    // With an `unexpected-response` listener, ending the request is ours: ws then reports it.
    ws.on('error', () => undefined);
    const [status, body] = await new Promise<[number, string]>((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve([res.statusCode ?? 0, text]));
      });
      ws.once('open', () => reject(new Error('opened')));
    });
    expect([status, body]).toEqual([400, reason]);
    ws.terminate();
  });

  it('answers an empty or over-long text with an error and keeps the connection', async () => {
    const alice = await open('lobby', 'alice');
    alice.ws.send(JSON.stringify({ type: 'say', text: 'x'.repeat(501) }));
    alice.ws.send(JSON.stringify({ type: 'say', text: '  ' }));
    // 500 characters is the limit, counted as characters, not UTF-16 units or bytes.
    alice.ws.send(JSON.stringify({ type: 'say', text: '😀'.repeat(500) }));
    const error = { type: 'error', error: 'text must be 1 to 500 characters' };
    expect(await alice.count(4)).toEqual([
      { type: 'joined', room: 'lobby', name: 'alice' },
      error,
      error,
      { type: 'said', room: 'lobby', name: 'alice', text: '😀'.repeat(500) },
    ]);
  });

  it.each<[string, string | Buffer, number, string]>([
    ['text that is not JSON', 'hello', 1007, 'expected {"type":"say","text":"..."}'],
    [
      'JSON of another shape',
      '{"type":"shout","text":"hi"}',
      1007,
      'expected {"type":"say","text":"..."}',
    ],
    [
      'a text that is not a string',
      '{"type":"say","text":5}',
      1007,
      'expected {"type":"say","text":"..."}',
    ],
    ['binary', Buffer.from('{"type":"say","text":"hi"}'), 1003, 'text messages only'],
    ['a message over 4 KiB', 'x'.repeat(4097), 1009, ''],
  ])('closes the connection on %s', async (_what, data, code, reason) => {
    const bob = await open('lobby', 'bob');
    await bob.count(1);
    bob.ws.send(data);
    // 1009 is rxws's own (maxPayload), without a reason.
    expect(await bob.closed).toEqual({ code, reason });
  });

  it('tells the others in the room who joins, says and leaves; other rooms hear nothing', async () => {
    const alice = await open('lobby', 'alice');
    await alice.count(1);
    const elsewhere = await open('attic', 'eve');
    const bob = await open('lobby', 'bob');
    bob.ws.send(JSON.stringify({ type: 'say', text: 'hi alice' }));
    bob.ws.close();
    await bob.closed;
    expect(await alice.count(4)).toEqual([
      { type: 'joined', room: 'lobby', name: 'alice' },
      { type: 'joined', room: 'lobby', name: 'bob' },
      { type: 'said', room: 'lobby', name: 'bob', text: 'hi alice' },
      { type: 'left', room: 'lobby', name: 'bob' },
    ]);
    // What eve's room gets after the lobby's messages comes after anything the lobby sent her.
    elsewhere.ws.send(JSON.stringify({ type: 'say', text: 'anyone?' }));
    expect(await elsewhere.count(2)).toEqual([
      { type: 'joined', room: 'attic', name: 'eve' },
      { type: 'said', room: 'attic', name: 'eve', text: 'anyone?' },
    ]);
  });

  it('exits with 0 on SIGTERM after closing its clients with 1001', async () => {
    const own = await Chat.start();
    const client = await Client.open(own.socketUrl('lobby', 'carol'));
    await client.count(1);
    expect(await own.stop()).toBe(0);
    expect((await client.closed).code).toBe(1001);
  }, 60_000);
});

describe('examples/chat in Chromium, two instances sharing rooms through Redis', () => {
  const prefix = `rxws-chat-${randomBytes(5).toString('hex')}:`;
  let chats: Chat[] = [];
  let browser: Browser | undefined;

  beforeAll(async () => {
    chats = await Promise.all([Chat.start({ prefix }), Chat.start({ prefix })]);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    const codes = await Promise.all(chats.map((chat) => chat.stop()));
    await deleteKeys(SHARED_REDIS, prefix);
    expect(codes).toEqual(chats.map(() => 0));
  }, 60_000);

  async function join(chat: Chat, room: string, name: string): Promise<Page> {
    const page = await browser!.newPage();
    page.setDefaultTimeout(PATIENCE);
    await page.goto(chat.url);
    await page.fill('#name', name);
    await page.fill('#room', room);
    await page.click('#join');
    await page.locator('#log li.joined', { hasText: name }).waitFor();
    return page;
  }

  async function say(page: Page, text: string): Promise<void> {
    await page.fill('#text', text);
    await page.press('#text', 'Enter');
  }

  /** The page's chat lines once it shows `n`, as its reader sees them. */
  async function lines(page: Page, n: number): Promise<string[]> {
    await page
      .locator('#log li')
      .nth(n - 1)
      .waitFor();
    return page.locator('#log li').allTextContents();
  }

  it('shows both messages in order on a page of each instance; a page in another room sees neither', async () => {
    const [one, two] = chats;
    const alice = await join(one, 'lobby', 'alice');
    const bob = await join(two, 'lobby', 'bob');
    const carol = await join(two, 'attic', 'carol');

    expect(await lines(alice, 2)).toEqual(['alice joined', 'bob joined']);
    await say(alice, 'hello from one');
    // Each waits for the other's message before answering, as people do: two instances give
    // no order between messages published at the same time on each (only per publisher).
    expect(await lines(bob, 2)).toEqual(['bob joined', 'alice: hello from one']);
    await say(bob, 'hi from two');
    expect(await lines(alice, 4)).toEqual([
      'alice joined',
      'bob joined',
      'alice: hello from one',
      'bob: hi from two',
    ]);
    expect(await lines(bob, 3)).toEqual([
      'bob joined',
      'alice: hello from one',
      'bob: hi from two',
    ]);

    // Whatever instance two sent carol from the lobby would have come before her own message.
    await say(carol, 'anyone here?');
    expect(await lines(carol, 2)).toEqual(['carol joined', 'carol: anyone here?']);

    await bob.close();
    expect(await lines(alice, 5)).toEqual([
      'alice joined',
      'bob joined',
      'alice: hello from one',
      'bob: hi from two',
      'bob left',
    ]);
  }, 120_000);
});
