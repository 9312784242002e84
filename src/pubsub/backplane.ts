/**
 * What carries the messages of topics between the instances (processes, machines) that serve
 * them. An instance delivers what it publishes to its own subscribers itself, at once, and hands
 * the message to its link; the backplane brings it to every other instance that has joined the
 * topic, and each of those delivers it to its own subscribers. So an instance never receives its
 * own messages back, and a backplane only moves messages between instances.
 *
 * ```text
 *  instance A                               instance B
 *  publish(t, m) ─► A's subscribers of t     B's subscribers of t ◄─ host.deliver(m)
 *       └──────► link.publish(m) ══ backplane ══ (B has joined t) ══════════┘
 * ```
 *
 * Kept apart from the topics so that a backplane over another transport (Redis) plugs in
 * without the rest of rxws changing.
 */

/** A message published on a topic, as it travels between instances. */
export interface Publication {
  readonly topic: string;
  /** A string is text; a Buffer is binary, or UTF-8 text when `binary` is false. */
  readonly payload: Buffer | string;
  readonly binary: boolean;
}

/**
 * Messages of a topic that another instance published and this one never received (its link to
 * the backplane was down, or a durable backplane's retention had dropped them): what
 * `logs$` reports with `type: 'gap'`, and `server.topic$(topic, { gaps: true })` emits in place.
 */
export interface TopicGap {
  readonly type: 'gap';
  readonly topic: string;
  /** The instance that published them (its `instanceId`). */
  readonly publisher: string;
  /** How many messages were missed. */
  readonly missed: number;
}

/**
 * A backplane's link went down (`code` names the cause, such as `'ECONNREFUSED'`) or came up
 * again; `unsent` counts this instance's publishes that could not be carried while it was down
 * (delivered locally only).
 */
export type BackplaneEvent =
  | { readonly event: 'down'; readonly code: string; readonly reason: string }
  | { readonly event: 'up'; readonly unsent: number };

/** What an instance gives the backplane it attaches to. */
export interface BackplaneHost {
  /** A message another instance published on a topic this one has joined: deliver it locally. */
  deliver(message: Publication): void;
  /** Messages of a joined topic that never reached this instance. */
  gap(gap: TopicGap): void;
  /** The link's state changed: reported on `logs$` as a `backplane` entry. */
  report(event: BackplaneEvent): void;
}

/** One instance's attachment to a backplane. */
export interface BackplaneLink {
  /** Carries a message this instance published (and has delivered locally) to the others. */
  publish(message: Publication): void;
  /**
   * This instance has its first local subscriber (connection or observer) on `topic`. A
   * backplane that takes time to start carrying a topic's messages here (a subscription in
   * Redis) returns a Promise that settles when what others publish from then on will arrive
   * (`server.joined()` waits for it); it never rejects, and settles too if the topic is left or
   * the link closed first.
   */
  join(topic: string): void | Promise<void>;
  /** Its last local subscriber on `topic` has left. */
  leave(topic: string): void;
  /** Detaches the instance: nothing more is published or delivered through this link. */
  close(): Promise<void>;
  /**
   * Settles when the link has first connected, or failed to (reported through
   * `host.report()`); `server.listen()` waits for it. Never rejects. Optional.
   */
  ready?(): Promise<void>;
}

/** Carries publications between the instances attached to it. */
export interface Backplane {
  /** Attaches one instance; messages for the topics it joins reach `host.deliver()`. */
  attach(host: BackplaneHost): BackplaneLink;
}

/**
 * The in-memory backplane, the default: the instances attached to one are in the same process,
 * and a publication reaches each other instance that has joined its topic synchronously, inside
 * `publish()`, so in the order published. A server alone on its own one (what `createServer()`
 * makes) delivers only locally, and this costs it one empty loop per publish.
 *
 * @example
 * ```ts
 * const bus = memoryBackplane();
 * const a = bus.attach({ deliver: (m) => console.log('a got', m.payload) });
 * const b = bus.attach({ deliver: (m) => console.log('b got', m.payload) });
 * b.join('news');
 * a.publish({ topic: 'news', payload: 'hello', binary: false }); // b got hello
 * ```
 */
export function memoryBackplane(): Backplane {
  const links = new Set<MemoryLink>();
  return {
    attach(host) {
      const link = new MemoryLink(host, links);
      links.add(link);
      return link;
    },
  };
}

class MemoryLink implements BackplaneLink {
  private readonly joined = new Set<string>();

  constructor(
    private readonly host: BackplaneHost,
    private readonly links: Set<MemoryLink>,
  ) {}

  publish(message: Publication): void {
    if (!this.links.has(this)) return;
    for (const link of this.links) {
      if (link !== this && link.joined.has(message.topic)) link.host.deliver(message);
    }
  }

  join(topic: string): void {
    this.joined.add(topic);
  }

  leave(topic: string): void {
    this.joined.delete(topic);
  }

  close(): Promise<void> {
    this.links.delete(this);
    this.joined.clear();
    return Promise.resolve();
  }
}
