/**
 * Redis for the backplane specs: the shared server (127.0.0.1:6379, which `npm test`'s pretest
 * makes sure of) with a prefix of its own per test, removed afterwards; or a `redis-server` of a
 * spec's own, on another port, for specs that stop and restart it (never the shared one); and
 * server instances in their own processes (spec/fixtures/redis-instance.ts).
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import WebSocket from 'ws';
import { Redis } from 'ioredis';
import type { LogEntry, TopicGap } from '../../src';

export const SHARED_REDIS = 'redis://127.0.0.1:6379';

/** A prefix no other test or run uses. */
export function uniquePrefix(): string {
  return `rxws-spec-${randomBytes(5).toString('hex')}:`;
}

/** Deletes every key under `prefix` (streams mode leaves one stream per topic). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true });
  client.on('error', () => undefined);
  await client.connect();
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  client.disconnect();
}

/** A free TCP port on 127.0.0.1 (asked of the OS, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** A `redis-server` of the spec's own: started, stopped and started again on the same port. */
export class OwnRedis {
  private process: ChildProcess | undefined;
  private constructor(readonly port: number) {}

  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it (in the foreground, as a child of this process) and waits until it answers. */
  async start(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ];
    this.process = spawn('redis-server', args, { stdio: 'ignore' });
    for (let i = 0; ; i++) {
      try {
        if (this.cli('PING') === 'PONG') return;
      } catch {
        // not up yet
      }
      if (i > 200) throw new Error(`redis-server on port ${this.port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops it (its data is gone: it keeps none) and waits until the process has ended. */
  async stop(): Promise<void> {
    const proc = this.process;
    this.process = undefined;
    if (!proc || proc.exitCode !== null) return;
    const ended = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await ended;
  }

  /** Runs one command with redis-cli; its output, trimmed. */
  cli(...args: string[]): string {
    return execFileSync('redis-cli', ['-p', String(this.port), ...args], {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  }
}

type FromInstance =
  | { type: 'ready'; port: number }
  | { type: 'log'; entry: LogEntry }
  | { type: 'published'; count: number }
  | { type: 'subscribed'; topics: string }
  | { type: 'topic-gap'; gap: TopicGap };

const root = join(__dirname, '../..');
const running = new Set<Instance>();

/** A server instance in its own process (spec/fixtures/redis-instance.ts). */
export class Instance {
  /** The `gap` and `backplane` entries of its `logs$`, in order. */
  readonly logs: LogEntry[] = [];
  /** The gaps its `server.topic$(watch, { gaps: true })` emitted, in order. */
  readonly topicGaps: TopicGap[] = [];
  private readonly waiters = new Set<() => void>();
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  /** Starts an instance with these `redisBackplane()` settings; resolves once it listens. */
  static start(settings: Record<string, unknown>): Promise<Instance> {
    const child = fork(join(root, 'spec/fixtures/redis-instance.ts'), [], {
      cwd: root,
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, RXWS_INSTANCE: JSON.stringify(settings) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`instance exited with ${code}`)));
      child.on('message', (message: FromInstance) => {
        if (message.type === 'ready') {
          const instance = new Instance(child, message.port);
          running.add(instance);
          child.on('message', (m: FromInstance) => instance.received(m));
          resolve(instance);
        }
      });
    });
  }

  /** Publishes `texts` on `topic` from this instance, in order; resolves once it has. */
  async publish(topic: string, texts: string[]): Promise<void> {
    const done = this.next((m) => m.type === 'published');
    this.child.send({ cmd: 'publish', topic, texts });
    await done;
  }

  /** A client of this instance subscribed to `topics` (resolves once subscribed). */
  async client(...topics: string[]): Promise<Received> {
    const subscribed = this.next((m) => m.type === 'subscribed');
    const ws = new WebSocket(`ws://127.0.0.1:${this.port}/?topics=${topics.join(',')}`);
    const received = new Received(ws);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    await subscribed;
    return received;
  }

  /** Waits until a log entry matches. */
  async logged(match: (entry: LogEntry) => boolean): Promise<LogEntry> {
    for (;;) {
      const found = this.logs.find(match);
      if (found) return found;
      await new Promise<void>((r) => this.waiters.add(r));
    }
  }

  /** Shuts it down and waits for the process to end. */
  async stop(): Promise<void> {
    running.delete(this);
    if (this.child.exitCode !== null) return;
    const ended = new Promise((r) => this.child.once('exit', r));
    this.child.send({ cmd: 'shutdown' });
    await ended;
  }

  private nextWaiters: [(m: FromInstance) => boolean, () => void][] = [];

  private next(match: (m: FromInstance) => boolean): Promise<void> {
    return new Promise((resolve) => this.nextWaiters.push([match, resolve]));
  }

  private received(message: FromInstance): void {
    if (message.type === 'topic-gap') this.topicGaps.push(message.gap);
    if (message.type === 'log') {
      this.logs.push(message.entry);
      for (const wake of this.waiters) wake();
      this.waiters.clear();
    }
    const i = this.nextWaiters.findIndex(([match]) => match(message));
    if (i >= 0) this.nextWaiters.splice(i, 1)[0][1]();
  }
}

/** What a client received, as text, in order (a binary message as `binary:<hex>`). */
export class Received {
  readonly texts: string[] = [];
  private waiter: (() => void) | undefined;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      // Text is what the specs publish: a binary frame shows as such and fails them.
      this.texts.push(isBinary ? `binary:${data.toString('hex')}` : data.toString());
      this.waiter?.();
    });
  }

  /** Resolves once `n` messages have arrived in all. */
  async count(n: number): Promise<string[]> {
    while (this.texts.length < n) await new Promise<void>((r) => (this.waiter = r));
    return this.texts;
  }
}

/** Stops every instance a test started and closes their clients. */
export async function stopInstances(): Promise<void> {
  await Promise.all([...running].map((instance) => instance.stop()));
}
