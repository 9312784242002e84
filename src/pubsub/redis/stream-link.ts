import type { BackplaneHost } from '../backplane';
import type { ResolvedRedisOptions } from './options';
import { RedisLink } from './redis-link';

/** Resolves after `ms`, without holding the process open. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Entries read per topic and call. */
const READ_COUNT = 1000;

/** A stream's entries in an XREAD reply: id, [field, value, ...]. */
type Entries = [Buffer, Buffer[]][];

/**
 * The streams of an XREAD reply, each with its name. RESP2 answers with [name, entries] pairs;
 * RESP3 with a map, which a client gives as a Map, an object, or a flat [name, entries, ...]
 * array (ioredis).
 */
function streamsOf(reply: unknown): [string, Entries][] {
  if (reply === null || typeof reply !== 'object') return [];
  if (reply instanceof Map) {
    return [...(reply as Map<unknown, Entries>)].map(([k, e]) => [String(k), e]);
  }
  if (!Array.isArray(reply)) return Object.entries(reply as Record<string, Entries>);
  if (reply.length > 0 && !Array.isArray(reply[0])) {
    const out: [string, Entries][] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) out.push([String(reply[i]), reply[i + 1]]);
    return out;
  }
  return (reply as [Buffer, Entries][]).map(([key, entries]) => [key.toString(), entries]);
}

/**
 * The durable backplane over Redis streams: a topic is a stream (`XADD ... MAXLEN ~ retention`),
 * which each instance reads from where it stopped (`XREAD BLOCK`), so one that reconnects
 * catches up on what was added meanwhile, as long as the stream still holds it; what retention
 * dropped shows as a gap. A publisher keeps what it could not send, in order, up to
 * `maxBuffered` messages, and sends it again when Redis is back (a message sent twice because its
 * reply was lost is dropped by the receivers, who know its number).
 */
export class StreamLink extends RedisLink {
  /** Messages not yet added by Redis, in order; the first `issued` were sent on this connection. */
  private readonly queue: { readonly topic: string; readonly envelope: Buffer }[] = [];
  private issued = 0;
  /** Changes when the sends in flight are lost with their connection. */
  private generation = 0;
  /** Per joined topic, the id of the last entry read; undefined until it is looked up. */
  private readonly positions = new Map<string, string | undefined>();
  /** The reading connection's id, for CLIENT UNBLOCK when the topics change. */
  private readerId: string | undefined;
  private blocked = false;
  private topicsDirty = false;
  private wake: (() => void) | undefined;

  constructor(host: BackplaneHost, options: ResolvedRedisOptions) {
    super(host, options);
    // The reading connection's id is that of one connection: a new one has another.
    this.listener.client.on('close', () => (this.readerId = undefined));
    void this.read();
  }

  protected send(topic: string, envelope: Buffer): boolean {
    if (!this.isUp && this.queue.length >= this.options.maxBuffered) return false;
    this.queue.push({ topic, envelope });
    this.flush();
    return true;
  }

  protected listen(topic: string): void {
    this.positions.set(topic, undefined);
    this.topicsChanged();
    // Where the topic's stream ends now is where this instance starts reading: asked at once
    // (the reading connection may be blocked), and by the reading loop if that fails.
    if (!this.sender.up) return;
    this.sender.client.call('XREVRANGE', this.keyOf(topic), '+', '-', 'COUNT', '1').then(
      (last) => this.startAt(topic, last),
      () => undefined,
    );
  }

  protected unlisten(topic: string): void {
    this.positions.delete(topic);
    this.topicsChanged();
  }

  protected prepareListener(): Promise<unknown> {
    return Promise.resolve();
  }

  protected resumed(): void {
    this.flush();
    this.wakeUp();
  }

  protected stop(): void {
    this.queue.length = 0;
    this.positions.clear();
    this.wakeUp();
  }

  /** Sends what waits, in order, while the link is up. */
  private flush(): void {
    while (this.isUp && this.issued < this.queue.length) {
      const { topic, envelope } = this.queue[this.issued++];
      const generation = this.generation;
      const maxLen = String(this.options.retention);
      this.sender.client
        .call('XADD', this.keyOf(topic), 'MAXLEN', '~', maxLen, '*', 'm', envelope)
        .then(
          () => {
            if (generation !== this.generation) return;
            this.queue.shift();
            this.issued--;
          },
          () => {
            if (generation !== this.generation) return;
            if (this.sender.up) {
              // Redis answered with an error: this message cannot be added; the next ones can.
              this.queue.shift();
              this.issued--;
              this.lost();
              return;
            }
            // The connection went with the sends in flight: all are sent again when it is back.
            this.generation++;
            this.issued = 0;
          },
        );
    }
  }

  /** A joined topic's reading starts after `last`, its stream's last entry when it joined. */
  private startAt(topic: string, last: unknown): void {
    if (!this.positions.has(topic) || this.positions.get(topic) !== undefined) return;
    const entries = last as [unknown, unknown][];
    this.positions.set(topic, entries.length > 0 ? String(entries[0][0]) : '0-0');
    this.joinedNow(topic);
  }

  private topicsChanged(): void {
    this.topicsDirty = true;
    // Ends the read blocked on the old topics (from the sending connection). A read is blocked
    // only on a connection whose id the loop has asked for: when that connection closes, the
    // read is given up (whileConnected()) and the next connection's id is asked for.
    if (this.blocked && this.readerId !== undefined && this.sender.up) {
      this.sender.client.call('CLIENT', 'UNBLOCK', this.readerId).catch(() => undefined);
    }
    this.wakeUp();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  /** The reading loop: one XREAD BLOCK over every joined topic at a time. */
  private async read(): Promise<void> {
    const client = this.listener.client;
    while (!this.closed) {
      if (!this.listener.up || this.positions.size === 0) {
        await this.sleep();
        continue;
      }
      try {
        this.readerId ??= String(await this.listener.whileConnected(client.call('CLIENT', 'ID')));
        this.topicsDirty = false;
        for (const [topic, at] of this.positions) {
          if (at !== undefined) continue;
          this.startAt(
            topic,
            await this.listener.whileConnected(
              client.call('XREVRANGE', this.keyOf(topic), '+', '-', 'COUNT', '1'),
            ),
          );
        }
        if (this.topicsDirty || this.closed || !this.listener.up) continue;
        const keys: string[] = [];
        const ids: string[] = [];
        for (const [topic, at] of this.positions) {
          keys.push(this.keyOf(topic));
          ids.push(at ?? '$');
        }
        this.blocked = true;
        const reply = await this.listener.whileConnected(
          client.callBuffer('XREAD', 'COUNT', READ_COUNT, 'BLOCK', 0, 'STREAMS', ...keys, ...ids),
        );
        this.blocked = false;
        this.deliver(streamsOf(reply));
      } catch {
        // The reading connection went down (ioredis reconnects; read on when it is back), or
        // Redis refused the read (a key of another type): try again a second later.
        this.blocked = false;
        this.readerId = undefined;
        if (this.listener.up) await pause(1000);
      }
    }
  }

  private deliver(streams: [string, Entries][]): void {
    for (const [key, entries] of streams) {
      const topic = this.topicOf(key);
      if (topic === undefined) continue;
      for (const [id, fields] of entries) {
        if (!this.positions.has(topic)) break;
        this.positions.set(topic, id.toString());
        if (fields.length >= 2) this.received(topic, fields[1]);
      }
    }
  }
}
