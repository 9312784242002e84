import type { BackplaneHost } from '../backplane';
import type { ResolvedRedisOptions } from './options';
import { RedisLink } from './redis-link';

/** How many intervals a topic is marked after its last publish. */
const MARKED_TICKS = 30;

/**
 * The backplane over Redis pub/sub: a topic is a channel; a publish is one `PUBLISH`, sent at
 * once, never queued (a publish made while the link is down is counted as unsent, and the others
 * see its number missing). Subscriptions are made again after a reconnection.
 *
 * Marks: every `markInterval` ms, for each topic published on in the last `MARKED_TICKS`
 * intervals, the last number goes out as a mark, so that an instance that missed the end of a
 * burst (and was back within that time) learns it without waiting for the next message.
 */
export class PubSubLink extends RedisLink {
  /** Topics published on lately, with how many more marks each gets. */
  private readonly marking = new Map<string, number>();
  /** Topics whose SUBSCRIBE Redis has confirmed (node-redis makes those again by itself). */
  private readonly confirmed = new Set<string>();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onMessage = (message: Buffer, channel: Buffer): void => {
    const topic = this.topicOf(channel.toString());
    if (topic !== undefined) this.received(topic, message);
  };

  constructor(host: BackplaneHost, options: ResolvedRedisOptions) {
    super(host, options, false);
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
    const channel = this.keyOf(topic);
    this.listener.client.subscribe(channel, this.onMessage, true).then(
      () => {
        if (!this.joined.has(topic)) return;
        this.confirmed.add(topic);
        this.joinedNow(topic);
      },
      // Made again when the link is back (resumed()).
      () => undefined,
    );
  }

  protected unlisten(topic: string): void {
    this.confirmed.delete(topic);
    this.listener.client
      .unsubscribe(this.keyOf(topic), this.onMessage, true)
      .catch(() => undefined);
  }

  protected resumed(): void {
    for (const topic of this.joined) if (!this.confirmed.has(topic)) this.listen(topic);
  }

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
