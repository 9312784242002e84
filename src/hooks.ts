import { from, isObservable, of, take, type Observable, type ObservableInput } from 'rxjs';

/**
 * The hook vocabulary every stage of the accept path shares: what a user hook may answer, and
 * how an answer becomes a decision. Pure.
 */

/** What a hook may return: a value, a Promise of it, or an Observable whose first value counts. */
export type HookResult<T> = T | ObservableInput<T>;

/** True when a hook answered with an Observable or a Promise rather than a plain value. */
export function isDeferred<T>(result: HookResult<T>): boolean {
  return (
    isObservable(result) ||
    (result !== null &&
      typeof result === 'object' &&
      typeof (result as PromiseLike<T>).then === 'function')
  );
}

/** Turns what a user hook returned into an Observable of its first value (sync for plain values). */
export function hookResult$<T>(result: HookResult<T>): Observable<T> {
  if (isObservable(result)) return (result as Observable<T>).pipe(take(1));
  if (isDeferred(result)) return from(result as PromiseLike<T>);
  return of(result as T);
}
