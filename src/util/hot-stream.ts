import { Observable, type Subscriber } from 'rxjs';

const NONE: readonly Subscriber<never>[] = Object.freeze([]);

/**
 * A minimal hot multicast for the per-message paths: what a `Subject` + `asObservable()` does
 * there, with less per-emission work (no closure per `next`) and less per-connection memory
 * (the Observable is made on first use). Subscribers are kept in a copy-on-write array, so a
 * subscriber that unsubscribes or subscribes during an emission is safe.
 */
export class HotStream<T> {
  private subscribers: readonly Subscriber<T>[] = NONE;
  private done = false;
  private observable$: Observable<T> | undefined;

  /** The stream: hot, no replay; completes at once for a subscriber that comes after `complete()`. */
  get observable(): Observable<T> {
    return (this.observable$ ??= new Observable<T>((subscriber) => {
      if (this.done) {
        subscriber.complete();
        return undefined;
      }
      this.subscribers = [...this.subscribers, subscriber];
      return () => {
        this.subscribers = this.subscribers.filter((s) => s !== subscriber);
      };
    }));
  }

  /** True while someone is subscribed. */
  get observed(): boolean {
    return this.subscribers.length > 0;
  }

  next(value: T): void {
    const list = this.subscribers;
    for (let i = 0; i < list.length; i++) list[i].next(value);
  }

  complete(): void {
    if (this.done) return;
    this.done = true;
    const list = this.subscribers;
    this.subscribers = NONE;
    for (let i = 0; i < list.length; i++) list[i].complete();
  }
}
