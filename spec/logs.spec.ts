import { Logger, refusalEntry, type LogEntry, type RefusalCounts } from '../src/logs';

const none = (): RefusalCounts => ({ connection: 0, tls: 0, handshake: 0, open: 0 });

describe('Logger', () => {
  it.each([0, 1, 3] as const)(
    'counts every refused entry by stage at logLevel %p, with nobody listening',
    (level) => {
      const refusals = none();
      const logger = new Logger(level, refusals);
      logger.log(refusalEntry('connection', 'ERR_MAX_CONNECTIONS', 'full', '127.0.0.1', 1));
      logger.log(refusalEntry('connection', 'ERR_NOT_ALLOWED', 'no', '127.0.0.1', 2));
      logger.log(refusalEntry('tls', 'ERR_TLS', 'bad', '127.0.0.1', 3));
      logger.log(refusalEntry('handshake', 404, 'Not Found', '127.0.0.1', 4));
      logger.log(refusalEntry('open', 403, 'Forbidden', '127.0.0.1', 5));
      logger.log(refusalEntry('open', 503, 'Unavailable', '127.0.0.1', 6));
      expect(refusals).toEqual({ connection: 2, tls: 1, handshake: 1, open: 2 });
    },
  );

  it('counts nothing but refused entries', () => {
    const refusals = none();
    const logger = new Logger(3, refusals);
    const seen: LogEntry[] = [];
    logger.logs$.subscribe((e) => seen.push(e));
    logger.log({ level: 1, type: 'listening', message: 'listening' });
    logger.log({
      level: 1,
      type: 'accepted',
      message: 'accepted',
      remoteAddress: '127.0.0.1',
      remotePort: 1,
    });
    expect(refusals).toEqual(none());
    expect(seen.map((e) => e.type)).toEqual(['listening', 'accepted']);
    logger.complete();
  });

  it('emits refused entries at or below its level only, counting them all', () => {
    const refusals = none();
    const logger = new Logger(0, refusals);
    const seen: LogEntry[] = [];
    logger.logs$.subscribe((e) => seen.push(e));
    logger.log(refusalEntry('open', 403, 'Forbidden', '127.0.0.1', 5));
    expect(seen).toEqual([]);
    expect(refusals.open).toBe(1);
    logger.complete();
  });
});
