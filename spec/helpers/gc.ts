import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// Jest's test context has no `gc`; this exposes V8's in any context.
setFlagsFromString('--expose-gc');

/**
 * A full garbage collection. Memory specs call it as data streams through, so that peak RSS
 * shows what the server retains, not garbage V8 has not collected yet (which, with the other
 * suites running in parallel, varied by tens of MB).
 */
export const gc = runInNewContext('gc') as () => void;
