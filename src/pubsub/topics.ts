import type { TopicMessage } from './topic-message';
import { Observable } from 'rxjs';
import { InvalidArgumentError, show } from '../errors';
import { fanout, type FanoutTarget } from '../connection/fanout';
import { normalize, type MessageFormat, type OutboundData } from '../connection/outbound-data';
import { HotStream } from '../util/hot-stream';
import type { Backplane, BackplaneEvent, BackplaneLink, Publication, TopicGap } from './backplane';
import { checkTopic } from './topic-name';

const NO_TOPICS: ReadonlySet<string> = new Set<string>();

/**
 * One server's topics: which of its connections subscribe to each topic, which topics each
 * connection is in, the server-side observers of each topic, and the link to the backplane.
 *
 * The state is kept here, not on the connections: `Map<topic, Set<connection>>` for publishing,
 * and a `WeakMap<connection, Set<topic>>` with an entry only for a connection that is in a
 * topic, so a connection that never subscribes costs nothing. A topic nobody is in has no entry.
 *
 * Publishing goes through `fanout()`: the message is framed once (and, for permessage-deflate
 * subscribers without context takeover, compressed once) and each subscriber takes the same
 * bytes through its own send queue and overflow policy, so a slow subscriber holds up (and
 * drops, counted in its `stats.drops`) only its own messages. The backplane is told when a topic
 * gets its first local subscriber or loses its last (`join`/`leave`), so it carries only what
 * someone here listens to.
 */
export class Topics<C extends FanoutTarget> {
  /** Each topic's subscribers, in the order they joined; a topic with none has no entry. */
  private readonly members = new Map<string, Set<C>>();
  /** Each subscriber's topics; a connection that is in no topic has no entry. */
  private readonly joined = new WeakMap<C, Set<string>>();
  /** The observers of `topic$()` per topic; a topic with none has no entry. */
  private readonly observers = new Map<string, HotStream<TopicMessage | TopicGap>>();
  private readonly link: BackplaneLink;
  /** Per topic, the backplane's join while it is not done (see `BackplaneLink.join`). */
  private readonly joining = new Map<string, Promise<void>>();
  private closed = false;

  /**
   * @param report where the backplane's gaps and state changes go (the server's `logs$`).
   */
  constructor(backplane: Backplane, report: (event: TopicGap | BackplaneEvent) => void = () => {}) {
    this.link = backplane.attach({
      deliver: (message) => this.deliver(message),
      gap: (gap) => {
        if (this.closed) return;
        report(gap);
        this.observers.get(gap.topic)?.next(gap);
      },
      report: (event) => {
        if (!this.closed) report(event);
      },
    });
  }

  /**
   * Resolves when messages published on `topic` by other instances from then on reach this
   * one: at once unless the backplane is still joining the topic.
   */
  whenJoined(topic: string): Promise<void> {
    checkTopic(topic);
    return this.joining.get(topic) ?? Promise.resolve();
  }

  /** Settles when the backplane link has connected or failed to (see `BackplaneLink.ready`). */
  ready(): Promise<void> {
    return this.link.ready?.() ?? Promise.resolve();
  }

  /**
   * Subscribes `target` to `topic`. A target that is not open is not subscribed (it would be
   * left at once): false, as for a target already subscribed.
   * @returns true when it was subscribed by this call.
   * @throws {InvalidArgumentError} for a topic name that is not valid (see `checkTopic()`).
   */
  join(target: C, topic: string): boolean {
    checkTopic(topic);
    if (target.openOutbound === undefined) return false;
    let mine = this.joined.get(target);
    if (mine?.has(topic)) return false;
    let members = this.members.get(topic);
    if (!members) {
      members = new Set();
      this.members.set(topic, members);
      if (!this.observers.has(topic) && !this.closed) this.joinLink(topic);
    }
    members.add(target);
    if (!mine) this.joined.set(target, (mine = new Set()));
    mine.add(topic);
    return true;
  }

  /**
   * Unsubscribes `target` from `topic`. What was published before has been handed to the
   * target's send queue already and is still sent.
   * @returns true when it was subscribed.
   * @throws {InvalidArgumentError} for a topic name that is not valid.
   */
  leave(target: C, topic: string): boolean {
    checkTopic(topic);
    const mine = this.joined.get(target);
    if (!mine?.delete(topic)) return false;
    if (mine.size === 0) this.joined.delete(target);
    this.removeMember(target, topic);
    return true;
  }

  /** Unsubscribes `target` from every topic (its connection has closed). */
  leaveAll(target: C): void {
    const mine = this.joined.get(target);
    if (!mine) return;
    this.joined.delete(target);
    for (const topic of mine) this.removeMember(target, topic);
  }

  /** A live, read-only view of the topics `target` is in. */
  topicsOf(target: C): ReadonlySet<string> {
    return new JoinedTopics(this.joined, target);
  }

  /**
   * Publishes a message: to this instance's subscribers of `topic` (framed and compressed once,
   * through each one's send queue), to the observers of `topic$(topic)`, then to the backplane.
   * @returns how many local subscribers (connections) it was handed to.
   * @throws {InvalidArgumentError} for a topic name that is not valid, data that cannot be sent
   *   or a format other than `'text'` and `'binary'`.
   */
  publish(topic: string, data: OutboundData, format: MessageFormat | undefined): number {
    checkTopic(topic);
    if (format !== undefined && format !== 'text' && format !== 'binary') {
      throw new InvalidArgumentError(`format must be "text" or "binary", got ${show(format)}`);
    }
    const [payload, binary] = normalize(data, format);
    const message: Publication = { topic, payload, binary };
    const count = this.deliver(message);
    if (!this.closed) this.link.publish(message);
    return count;
  }

  /**
   * The messages published on `topic` from now on, here or (through the backplane) on another
   * instance: hot, no replay. A subscription counts as interest in the topic for the backplane.
   * Completes when the topics close (at shutdown); a subscription made after that completes at
   * once. With `gaps`, the messages the backplane lost on the way here are announced in place,
   * as `TopicGap` items.
   * @throws {InvalidArgumentError} for a topic name that is not valid, at the call.
   */
  topic$(topic: string, gaps?: false): Observable<TopicMessage>;
  topic$(topic: string, gaps: boolean): Observable<TopicMessage | TopicGap>;
  topic$(topic: string, gaps = false): Observable<TopicMessage | TopicGap> {
    checkTopic(topic);
    return new Observable<TopicMessage | TopicGap>((subscriber) => {
      if (this.closed) {
        subscriber.complete();
        return undefined;
      }
      let stream = this.observers.get(topic);
      if (!stream) {
        stream = new HotStream();
        this.observers.set(topic, stream);
        if (!this.members.has(topic)) this.joinLink(topic);
      }
      const inner = stream.observable.subscribe(
        gaps
          ? subscriber
          : {
              next: (item) => {
                if (item.type === 'message') subscriber.next(item);
              },
              complete: () => subscriber.complete(),
            },
      );
      const own = stream;
      return () => {
        inner.unsubscribe();
        if (own.observed || this.observers.get(topic) !== own) return;
        this.observers.delete(topic);
        if (!this.members.has(topic)) this.link.leave(topic);
      };
    });
  }

  /** Completes every `topic$()` and detaches from the backplane. Idempotent. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    const streams = [...this.observers.values()];
    this.observers.clear();
    for (const stream of streams) stream.complete();
    return this.link.close();
  }

  /** Hands a message to this instance's subscribers and observers of its topic. */
  private deliver(message: Publication): number {
    const { topic, payload, binary } = message;
    const members = this.members.get(topic);
    const count = members ? fanout(payload, binary, members) : 0;
    const stream = this.observers.get(topic);
    if (stream) {
      stream.next({
        type: 'message',
        topic,
        // Text published as bytes reaches observers as a string, as received text does.
        data: binary || typeof payload === 'string' ? payload : payload.toString(),
        format: binary ? 'binary' : 'text',
      });
    }
    return count;
  }

  private joinLink(topic: string): void {
    const pending = this.link.join(topic);
    if (!pending) return;
    const settled = (): void => {
      if (this.joining.get(topic) === joining) this.joining.delete(topic);
    };
    const joining = pending.then(settled, settled);
    this.joining.set(topic, joining);
  }

  private removeMember(target: C, topic: string): void {
    const members = this.members.get(topic);
    if (!members?.delete(target) || members.size > 0) return;
    this.members.delete(topic);
    if (!this.observers.has(topic) && !this.closed) this.link.leave(topic);
  }
}

/** `conn.topics`: reads the registry at each call, so it follows subscribes and unsubscribes. */
class JoinedTopics<C extends object> implements ReadonlySet<string> {
  constructor(
    private readonly joined: WeakMap<C, Set<string>>,
    private readonly target: C,
  ) {}

  private get set(): ReadonlySet<string> {
    return this.joined.get(this.target) ?? NO_TOPICS;
  }

  get size(): number {
    return this.set.size;
  }

  has(topic: string): boolean {
    return this.set.has(topic);
  }

  forEach(
    callback: (value: string, key: string, set: ReadonlySet<string>) => void,
    thisArg?: unknown,
  ): void {
    this.set.forEach((value) => callback.call(thisArg, value, value, this));
  }

  entries(): SetIterator<[string, string]> {
    return this.set.entries();
  }

  keys(): SetIterator<string> {
    return this.set.keys();
  }

  values(): SetIterator<string> {
    return this.set.values();
  }

  [Symbol.iterator](): SetIterator<string> {
    return this.set.values();
  }

  get [Symbol.toStringTag](): string {
    return 'TopicSet';
  }
}
