import { TestScheduler } from 'rxjs/testing';
import { bufferMessage, ConnectionError, InvalidArgumentError, type FragmentLike } from '../../src';

const t = (data: string, eom: boolean): FragmentLike => ({ data, format: 'text', eom });
const b = (data: number[], eom: boolean): FragmentLike => ({
  data: Buffer.from(data),
  format: 'binary',
  eom,
});

describe('bufferMessage (marbles)', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('joins the pieces of text and binary messages that follow each other, in order', () => {
    const values = {
      a: t('hé', false),
      c: t('llo', true),
      d: b([1, 2], false),
      e: b([3], false),
      f: b([4], true),
      g: t('whole', true),
      X: t('héllo', true),
      Y: b([1, 2, 3, 4], true),
    };
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-c-d-e-f-g-|', values);
      expectObservable(source.pipe(bufferMessage())).toBe('--X-----Y-g-|', values);
      expectSubscriptions(source.subscriptions).toBe('^-----------!');
    });
  });

  it('passes a message that came whole as the same object (no copy)', () => {
    const whole = b([9, 9], true);
    const out: FragmentLike[] = [];
    scheduler.run(({ cold }) => {
      cold('a|', { a: whole })
        .pipe(bufferMessage())
        .subscribe((m) => out.push(m));
    });
    expect(out[0]).toBe(whole);
  });

  it('handles empty messages and empty pieces', () => {
    const values = {
      a: t('', true),
      b: b([], false),
      c: b([], true),
      d: t('', false),
      e: t('x', false),
      f: t('', true),
      X: { data: Buffer.alloc(0), format: 'binary', eom: true } as FragmentLike,
      Y: t('x', true),
    };
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('abcdef|', values).pipe(bufferMessage())).toBe('a-X--Y|', values);
    });
  });

  it('reassembles a message from many emissions', () => {
    const pieces = Array.from({ length: 500 }, (_, i) => t(String(i % 10), i === 499));
    const joined: string[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      const values: Record<string, FragmentLike> = {};
      let marbles = '';
      pieces.forEach((p, k) => {
        const key = String.fromCharCode(0x100 + k);
        values[key] = p;
        marbles += key;
      });
      const expected = pieces.map((_, k) => (k === 499 ? 'Z' : '-')).join('');
      const whole = t(pieces.map((p) => p.data).join(''), true);
      expectObservable(cold(marbles, values).pipe(bufferMessage())).toBe(expected, { Z: whole });
      joined.push(whole.data as string);
    });
    expect(joined[0]).toHaveLength(500);
  });

  it('errors with 1009 past maxSize (counting UTF-8 bytes) and drops what it held', () => {
    const values = { a: t('ab', false), c: t('é', false), d: t('x', true) };
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-c-d|', values);
      const error = new ConnectionError(
        'ERR_MESSAGE_TOO_BIG',
        'message of 4 bytes or more is over the 3-byte limit',
        { closeCode: 1009 },
      );
      expectObservable(source.pipe(bufferMessage({ maxSize: 3 }))).toBe('--#', undefined, error);
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('errors with 1008 past maxFragments', () => {
    const values = { a: t('a', false), c: t('b', false), d: t('c', true) };
    scheduler.run(({ cold, expectObservable }) => {
      const error = new ConnectionError(
        'ERR_PROTOCOL',
        'message has more than 2 fragments (maxFragments)',
        { closeCode: 1008 },
      );
      expectObservable(cold('acd|', values).pipe(bufferMessage({ maxFragments: 2 }))).toBe(
        '--#',
        undefined,
        error,
      );
    });
  });

  it('errors when the pieces of one message change format', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const values = { a: t('a', false), c: b([1], true) };
      const error = new ConnectionError(
        'ERR_INVALID_DATA',
        'a binary piece came in the middle of a text message',
        { closeCode: 1003 },
      );
      expectObservable(cold('ac|', values).pipe(bufferMessage())).toBe('-#', undefined, error);
    });
  });

  it('unsubscribes from its source on teardown and drops an unfinished message on completion', () => {
    const values = { a: t('a', false), c: t('b', true) };
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a---c|', values);
      expectObservable(source.pipe(bufferMessage()), '^-!').toBe('---');
      expectSubscriptions(source.subscriptions).toBe('^-!');
      expectObservable(cold('a|', values).pipe(bufferMessage())).toBe('-|');
    });
  });

  it('refuses bad bounds at once', () => {
    expect(() => bufferMessage({ maxSize: 0 })).toThrow(InvalidArgumentError);
    expect(() => bufferMessage({ maxFragments: -1 })).toThrow(
      'bufferMessage(): maxFragments must be a non-negative integer, got -1',
    );
  });
});
