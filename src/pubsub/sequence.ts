/**
 * Numbering of published messages, so that an instance knows when it missed some. Pure.
 *
 * Each instance numbers what it publishes, per topic, from 1; its messages carry its
 * `publisher` name, an `epoch` (different at every start of a publisher, so that its numbering
 * starting again at 1 is not taken for old messages) and the number. A receiver remembers, per
 * topic and publisher, the epoch and the last number it saw: the next one it expects is that + 1;
 * a higher one means the ones between were missed; a lower (or equal) one was seen already, a
 * duplicate a retry made, and is dropped. A new epoch starts over.
 */

/** The numbering of one instance's publishes. */
export class Numbering {
  private readonly next = new Map<string, number>();

  /** The number of the next message published on `topic` (1, 2, ...). */
  take(topic: string): number {
    const seq = (this.next.get(topic) ?? 0) + 1;
    this.next.set(topic, seq);
    return seq;
  }

  /** The number of the last message published on `topic` (0: none). */
  last(topic: string): number {
    return this.next.get(topic) ?? 0;
  }
}

/** What a receiver does with a numbered message. */
export type Verdict =
  /** Deliver it; `missed` messages of this publisher before it never came (0: none). */
  | { readonly deliver: true; readonly missed: number }
  /** Already seen: drop it. */
  | { readonly deliver: false; readonly missed: 0 };

const FRESH: Verdict = { deliver: true, missed: 0 };
const SEEN: Verdict = { deliver: false, missed: 0 };

interface Position {
  epoch: string;
  seq: number;
}

/** What one instance has received, per topic and publisher. */
export class Tracker {
  private readonly topics = new Map<string, Map<string, Position>>();

  /**
   * Checks a message in. The first message of a publisher (or of its new epoch) on a topic sets
   * where it stands: what it published before this instance was listening is not missed.
   */
  receive(topic: string, publisher: string, epoch: string, seq: number): Verdict {
    let publishers = this.topics.get(topic);
    if (!publishers) this.topics.set(topic, (publishers = new Map()));
    const at = publishers.get(publisher);
    if (!at || at.epoch !== epoch) {
      publishers.set(publisher, { epoch, seq });
      return FRESH;
    }
    if (seq <= at.seq) return SEEN;
    const missed = seq - at.seq - 1;
    at.seq = seq;
    return missed === 0 ? FRESH : { deliver: true, missed };
  }

  /**
   * A publisher says where it stands (its last number) without a message: the messages up to
   * there that were not received are missed. Only for a publisher and epoch known here.
   * @returns how many were missed (0: none).
   */
  mark(topic: string, publisher: string, epoch: string, seq: number): number {
    const at = this.topics.get(topic)?.get(publisher);
    if (!at || at.epoch !== epoch || seq <= at.seq) return 0;
    const missed = seq - at.seq;
    at.seq = seq;
    return missed;
  }

  /** Forgets a topic (this instance left it). */
  forget(topic: string): void {
    this.topics.delete(topic);
  }
}
