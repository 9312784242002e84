import type { Observable } from 'rxjs';
import type { ConnectionRefusedError } from '../errors';
import type { PipedRequest } from '../util/request-pipeline';
import type { OpenRequest, RefusableOpenRequest } from './open-request';

/** Where a request in `openPipeline` goes: refused (an HTTP answer), or on to `onOpenRequest`. */
export interface OpenRequestOutcome {
  refused(reason: ConnectionRefusedError): void;
  proceed(): void;
}

/**
 * An open request as `openPipeline` carries it: the request's fields (the same the hook sees),
 * and the power to refuse it, once.
 */
export function pipedOpenRequest(
  request: OpenRequest,
  outcome: OpenRequestOutcome,
  closed$: Observable<void>,
): RefusableOpenRequest & PipedRequest {
  let refused = false;
  return {
    ...request,
    closed$,
    get refused() {
      return refused;
    },
    refuse(reason) {
      if (refused) return;
      refused = true;
      outcome.refused(reason);
    },
    /** Called by the pipeline for a request that came out of it. */
    proceed() {
      if (!refused) outcome.proceed();
    },
  };
}
