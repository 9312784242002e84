import type { BackplaneHost } from '../backplane';
import type { ResolvedRedisOptions } from './options';
import type { RedisClient } from './redis-client';
import { RedisLink } from './redis-link';

/** How many intervals a topic is marked after its last publish. */
const MARKED_TICKS = 30;

/**
 * The backplane over Redis pub/sub: a topic is a channel; a publish is one `PUBLISH`, sent at
 * once, never queued (a publish made while the link is down is counted as unsent, and the others
 * see its number missing). The listening connection subscribes again to every joined topic each
 * time it connects, and only then counts as up.
 *
 * Marks: every `markInterval` ms, for each topic published on in the last `MARKED_TICKS`
 * intervals, the last number goes out as a mark, so that an instance that missed the end of a
 * burst (and was back within that time) learns it without waiting for the next message.
 */
export class PubSubLink extends RedisLink {
  /** Topics published on lately, with how many more marks each gets. */
  private readonly marking = new Map<string, number>();
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(host: BackplaneHost, options: ResolvedRedisOptions) {
    super(host, options);
    this.listener.client.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      const topic = this.topicOf(channel.toString());
      if (topic !== undefined) this.received(topic, message);
    });
    if (options.markInterval > 0) {
      this.timer = setInterval(() => this.sendMarks(), options.markInterval);
      this.timer.unref();
    }
  }

  protected send(topic: string, envelope: Buffer): boolean {
    if (this.options.markInterval > 0) this.marking.set(topic, MARKED_TICKS);
    if (!this.isUp) return false;
    this.sender.client.publish(this.keyOf(topic), envelope).catch(() => this.lost());
    return true;
  }

  protected listen(topic: string): void {
    // While the listener is down this waits in its queue; made again when it is back anyway.
    this.listener.client.subscribe(this.keyOf(topic)).then(
      () => {
        if (this.joined.has(topic)) this.joinedNow(topic);
      },
      () => undefined,
    );
  }

  protected unlisten(topic: string): void {
    this.listener.client.unsubscribe(this.keyOf(topic)).catch(() => undefined);
  }

  protected prepareListener(client: RedisClient): Promise<unknown> {
    const topics = [...this.joined];
    if (topics.length === 0) return Promise.resolve();
    return client.subscribe(...topics.map((topic) => this.keyOf(topic))).then(() => {
      for (const topic of topics) if (this.joined.has(topic)) this.joinedNow(topic);
    });
  }

  protected resumed(): void {}

  protected stop(): void {
    clearInterval(this.timer);
  }

  private sendMarks(): void {
    if (!this.isUp) return;
    for (const [topic, left] of this.marking) {
      if (left <= 1) this.marking.delete(topic);
      else this.marking.set(topic, left - 1);
      this.sender.client
        .publish(this.keyOf(topic), this.markEnvelope(topic))
        .catch(() => undefined);
    }
  }
}
