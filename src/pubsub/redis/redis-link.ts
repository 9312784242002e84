import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import type { BackplaneHost, BackplaneLink, Publication } from '../backplane';
import { Numbering, Tracker } from '../sequence';
import { decodeEnvelope, encodeEnvelope, senderHeader } from './envelope';
import type { ResolvedRedisOptions } from './options';
import { FollowedClient, type RedisClient } from './redis-client';

/**
 * What both modes of the Redis backplane share: the two connections (one sends, one listens)
 * and whether the link is up, the numbering of this instance's publishes and the check of what
 * arrives (see `../sequence.ts`), and the reports to the host. A mode says how a message is sent
 * and how a topic is listened to.
 */
export abstract class RedisLink implements BackplaneLink {
  protected readonly sender: FollowedClient;
  protected readonly listener: FollowedClient;
  /** The topics this instance has joined. */
  protected readonly joined = new Set<string>();
  /** Per topic joined but not yet carried here, what settles its `join()`. */
  private readonly joining = new Map<string, () => void>();
  protected closed = false;
  private readonly numbering = new Numbering();
  private readonly tracker = new Tracker();
  private readonly header: Buffer;
  private readonly instanceId: string;
  private readonly epoch = randomBytes(6).toString('base64url');
  private up = false;
  /** Publishes that could not be carried since the link last went down. */
  private unsent = 0;
  private readonly firstSettled: Promise<void>;
  private settleFirst!: () => void;

  constructor(
    protected readonly host: BackplaneHost,
    protected readonly options: ResolvedRedisOptions,
  ) {
    this.instanceId = options.instanceId;
    this.header = senderHeader(this.instanceId, this.epoch);
    this.firstSettled = new Promise((resolve) => (this.settleFirst = resolve));
    const onChange = (up: boolean, code: string, reason: string): void =>
      this.changed(up, code, reason);
    this.sender = new FollowedClient(options, 'send', this.epoch, onChange);
    this.listener = new FollowedClient(options, 'listen', this.epoch, onChange, (client) =>
      this.prepareListener(client),
    );
    this.sender.connect();
    this.listener.connect();
  }

  /** Carries a message this instance published; counted as unsent when the link is down. */
  publish(message: Publication): void {
    if (this.closed) return;
    const seq = this.numbering.take(message.topic);
    const envelope = encodeEnvelope(this.header, seq, message.payload, message.binary);
    if (!this.send(message.topic, envelope)) this.unsent++;
  }

  join(topic: string): Promise<void> | undefined {
    if (this.closed || this.joined.has(topic)) return undefined;
    this.joined.add(topic);
    const joining = new Promise<void>((resolve) => this.joining.set(topic, resolve));
    this.listen(topic);
    return joining;
  }

  leave(topic: string): void {
    if (this.closed || !this.joined.delete(topic)) return;
    this.joinedNow(topic);
    this.tracker.forget(topic);
    this.unlisten(topic);
  }

  ready(): Promise<void> {
    return this.firstSettled;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const topic of this.joined) this.joinedNow(topic);
    this.joined.clear();
    this.stop();
    this.sender.close();
    this.listener.close();
    this.settleFirst();
    return Promise.resolve();
  }

  /** What others publish on `topic` from now on reaches this instance: settles its join. */
  protected joinedNow(topic: string): void {
    const settle = this.joining.get(topic);
    if (!settle) return;
    this.joining.delete(topic);
    settle();
  }

  /** The channel or key of a topic. */
  protected keyOf(topic: string): string {
    return this.options.prefix + topic;
  }

  /** The topic of a channel or key, or undefined for one that is not the backplane's. */
  protected topicOf(key: string): string | undefined {
    return key.startsWith(this.options.prefix) ? key.slice(this.options.prefix.length) : undefined;
  }

  /** A mark envelope: this instance's last number on `topic`. */
  protected markEnvelope(topic: string): Buffer {
    return encodeEnvelope(this.header, this.numbering.last(topic), undefined, false);
  }

  /** An envelope arrived for `topic`: checked, then delivered (or its loss reported). */
  protected received(topic: string, data: Buffer): void {
    if (this.closed || !this.joined.has(topic)) return;
    const envelope = decodeEnvelope(data);
    if (!envelope) return;
    const { publisher, epoch, seq } = envelope;
    if (epoch === this.epoch && publisher === this.instanceId) return;
    if (envelope.mark) {
      const missed = this.tracker.mark(topic, publisher, epoch, seq);
      if (missed > 0) this.host.gap({ type: 'gap', topic, publisher, missed });
      return;
    }
    const verdict = this.tracker.receive(topic, publisher, epoch, seq);
    if (verdict.missed > 0)
      this.host.gap({ type: 'gap', topic, publisher, missed: verdict.missed });
    if (!verdict.deliver) return;
    const { binary, payload } = envelope;
    // Text goes on as the UTF-8 bytes it came as (framed as they are, not decoded and encoded
    // again); bytes that are not UTF-8 (not from an rxws publisher) are made valid text.
    const text = binary || isUtf8(payload) ? payload : payload.toString();
    this.host.deliver({ topic, binary, payload: text });
  }

  /** The link is usable: both connections are up. */
  protected get isUp(): boolean {
    return this.up;
  }

  /** Counts a publish that could not be carried (a send that failed after it was made). */
  protected lost(): void {
    this.unsent++;
  }

  /** Sends an envelope; false when it cannot be carried (counted as unsent). */
  protected abstract send(topic: string, envelope: Buffer): boolean;
  /** Starts listening to a topic's messages. */
  protected abstract listen(topic: string): void;
  /** Stops listening to a topic's messages. */
  protected abstract unlisten(topic: string): void;
  /** What the listening connection does each time it connects, before it counts as up. */
  protected abstract prepareListener(client: RedisClient): Promise<unknown>;
  /** Both connections are up again (or for the first time). */
  protected abstract resumed(): void;
  /** The link closes: stop timers and loops. */
  protected abstract stop(): void;

  private changed(up: boolean, code: string, reason: string): void {
    if (this.closed) return;
    if (!up) {
      this.up = false;
      this.settleFirst();
      if (!this.downReported) {
        this.downReported = true;
        this.host.report({ event: 'down', code, reason });
      }
      return;
    }
    if (this.up || !this.sender.up || !this.listener.up) return;
    this.up = true;
    this.downReported = false;
    this.settleFirst();
    const unsent = this.unsent;
    this.unsent = 0;
    this.host.report({ event: 'up', unsent });
    this.resumed();
  }

  /** A `down` was reported and no `up` since. */
  private downReported = false;
}
