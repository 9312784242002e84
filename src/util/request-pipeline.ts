import { isObservable, Subject, type MonoTypeOperatorFunction, type Observable } from 'rxjs';
import { ConnectionRefusedError, HookError, describeError, show } from '../errors';

/** A request on the accept path as a pipeline carries it: refusable, and carried on once out. */
export interface PipedRequest {
  readonly refused: boolean;
  refuse(reason: ConnectionRefusedError): void;
  /** Goes on to the next stage (does nothing for a request refused or whose socket closed). */
  proceed(): void;
}

/** What a request pipeline is made from. */
export interface RequestPipelineConfig<T extends PipedRequest> {
  /** The option the operator came from, for messages: `'connectionPipeline'`. */
  readonly name: string;
  /** The decision: every request it emits goes on; `refuse()` refuses. */
  readonly operator: MonoTypeOperatorFunction<T>;
  /** The pipeline failed (errored, or emitted something that is not a request it was given). */
  onFailure(error: HookError): void;
}

/**
 * A user's `OperatorFunction` run as one stage of the accept path: each request is pushed in;
 * one it emits goes on (`proceed()`), one it refuses is refused. It is subscribed at the first
 * request, once for every request after, so stateful operators (rates, windows) see them all.
 *
 * When it errors, the failure is reported, the requests inside it are refused (`ERR_HOOK`) and a
 * fresh subscription takes the next request: one bad value does not close the server's door.
 * When it completes, the requests inside it and every later one are refused: the stream of
 * accepted requests has ended. A request it holds and never emits nor refuses stays until the
 * handshake timeout destroys its socket.
 */
export class RequestPipeline<T extends PipedRequest> {
  private input: Subject<T> | undefined;
  /** Requests pushed in that have not come out, been refused or closed. */
  private readonly inFlight = new Set<T>();
  private ended = false;
  private closed = false;

  constructor(private readonly config: RequestPipelineConfig<T>) {}

  /** Requests inside the pipeline now. */
  get size(): number {
    return this.inFlight.size;
  }

  push(request: T): void {
    if (this.ended) {
      request.refuse(
        new ConnectionRefusedError(
          'ERR_CONNECTION_REFUSED',
          `${this.config.name} has completed: no request is accepted`,
          { status: 403 },
        ),
      );
      return;
    }
    this.inFlight.add(request);
    this.input ??= this.start();
    this.input?.next(request);
  }

  /** `request` left the pipeline another way (refused, or its socket closed). */
  forget(request: T): void {
    this.inFlight.delete(request);
  }

  /** The server is shutting down: unsubscribes the pipeline; requests still inside are dropped. */
  close(): void {
    this.closed = true;
    const input = this.input;
    this.input = undefined;
    this.inFlight.clear();
    input?.complete();
  }

  /** Subscribes the user's operator; undefined when it failed (the request in flight refused). */
  private start(): Subject<T> | undefined {
    const input = new Subject<T>();
    const name = this.config.name;
    let output: Observable<T>;
    try {
      output = this.config.operator(input.asObservable());
      if (!isObservable(output)) {
        throw new TypeError(`it returned ${show(output)}, not an Observable`);
      }
    } catch (err) {
      this.failed(input, err);
      return undefined;
    }
    output.subscribe({
      next: (request) => {
        if (!this.inFlight.delete(request)) {
          if (this.closed) return;
          // Emitted twice, or not a request it was given: the user's code has a bug.
          this.config.onFailure(
            new HookError(
              'ERR_HOOK',
              `${name} emitted ${show(request)}, which is not a request waiting in it`,
            ),
          );
          return;
        }
        if (!request.refused) request.proceed();
      },
      error: (err: unknown) => this.failed(input, err),
      complete: () => {
        if (this.closed || this.input !== input) return;
        this.input = undefined;
        this.ended = true;
        this.refuseInFlight(`${name} has completed: no request is accepted`);
      },
    });
    return input;
  }

  private failed(input: Subject<T>, err: unknown): void {
    if (this.closed) return;
    if (this.input === input) this.input = undefined;
    const error = new HookError('ERR_HOOK', `${this.config.name} failed: ${describeError(err)}`, {
      cause: err,
      status: 500,
    });
    this.config.onFailure(error);
    this.refuseInFlight(error.message, error);
  }

  /** Refuses every request inside; `failure`: the pipeline failed (status 500, not 403). */
  private refuseInFlight(message: string, failure?: HookError): void {
    const requests = [...this.inFlight];
    this.inFlight.clear();
    for (const request of requests) {
      request.refuse(
        new ConnectionRefusedError('ERR_CONNECTION_REFUSED', message, {
          ...(failure ? { cause: failure } : {}),
          status: failure ? 500 : 403,
        }),
      );
    }
  }
}
