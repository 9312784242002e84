import { firstValueFrom, toArray } from 'rxjs';
import { createServer, type LogEntry } from '../../../src';
import { redisBackplane } from '../../../src/redis';

/** Nothing listens on port 1 of 127.0.0.1: every connection attempt is refused at once. */
const NOWHERE = 'redis://127.0.0.1:1';

describe.each(['pubsub', 'streams'] as const)(
  'redisBackplane({ mode: %p }) with Redis unreachable',
  (mode) => {
    it('listens anyway, says so once on logs$, delivers locally, and shuts down cleanly', async () => {
      const server = createServer({
        host: '127.0.0.1',
        port: 0,
        backplane: redisBackplane({ url: NOWHERE, mode }),
      });
      const logs: LogEntry[] = [];
      server.logs$.subscribe((entry) => logs.push(entry));
      await server.listen();
      expect(logs.filter((e) => e.type === 'backplane')).toEqual([
        expect.objectContaining({ type: 'backplane', event: 'down', code: 'ECONNREFUSED' }),
      ]);

      const seen = firstValueFrom(server.topic$('t').pipe(toArray()));
      expect(server.publish('t', 'still here')).toBe(0);
      // Joining waits for Redis, which does not come; shutdown settles it.
      let joined = false;
      const joining = server.joined('t').then(() => (joined = true));
      await new Promise((r) => setImmediate(r));
      expect(joined).toBe(false);

      await server.shutdown();
      await joining;
      expect(await seen).toEqual([
        { type: 'message', topic: 't', data: 'still here', format: 'text' },
      ]);
      // Reconnection attempts kept failing meanwhile: still the one `down` entry.
      expect(logs.filter((e) => e.type === 'backplane')).toHaveLength(1);
    });
  },
);
