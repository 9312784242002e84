const ignore = (): void => undefined;

/**
 * Marks a Promise that rxws returns as handled, so that one nobody awaits never becomes an
 * unhandled rejection (which ends a Node process by default): whoever awaits or chains it still
 * gets the rejection. Every Promise-returning method of the public API returns through this.
 */
export function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(ignore);
  return promise;
}

/** A rejected Promise that is safe to ignore; see `handled()`. */
export function rejected<T>(err: unknown): Promise<T> {
  return handled(Promise.reject(err));
}
