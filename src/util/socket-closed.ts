import type { Socket } from 'node:net';
import { Observable } from 'rxjs';

/** Emits once, then completes, when `socket` has closed (at once when it has). */
export function socketClosed(socket: Socket): Observable<void> {
  return new Observable<void>((subscriber) => {
    const closed = (): void => {
      subscriber.next();
      subscriber.complete();
    };
    if (socket.closed) {
      closed();
      return undefined;
    }
    socket.once('close', closed);
    return () => socket.removeListener('close', closed);
  });
}
