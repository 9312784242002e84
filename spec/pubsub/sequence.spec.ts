import { Numbering, Tracker } from '../../src/pubsub/sequence';

describe('Numbering', () => {
  it('numbers each topic from 1, on its own', () => {
    const n = new Numbering();
    expect([n.take('a'), n.take('a'), n.take('b'), n.take('a')]).toEqual([1, 2, 1, 3]);
    expect([n.last('a'), n.last('b'), n.last('c')]).toEqual([3, 1, 0]);
  });
});

describe('Tracker', () => {
  /** Feeds [publisher, epoch, seq] arrivals on topic t; what each verdict was. */
  const feed = (arrivals: [string, string, number][], tracker = new Tracker()) =>
    arrivals.map(([p, e, s]) => {
      const v = tracker.receive('t', p, e, s);
      return v.deliver ? `deliver${v.missed ? ` missed ${v.missed}` : ''}` : 'drop';
    });

  it.each<[string, [string, string, number][], string[]]>([
    [
      'in order',
      [
        ['p', 'e', 1],
        ['p', 'e', 2],
        ['p', 'e', 3],
      ],
      ['deliver', 'deliver', 'deliver'],
    ],
    [
      'joined late: the first seen sets where it stands',
      [
        ['p', 'e', 41],
        ['p', 'e', 42],
      ],
      ['deliver', 'deliver'],
    ],
    [
      'a hole',
      [
        ['p', 'e', 1],
        ['p', 'e', 5],
      ],
      ['deliver', 'deliver missed 3'],
    ],
    [
      'a duplicate or an older one',
      [
        ['p', 'e', 1],
        ['p', 'e', 2],
        ['p', 'e', 2],
        ['p', 'e', 1],
      ],
      ['deliver', 'deliver', 'drop', 'drop'],
    ],
    [
      'a new epoch starts over',
      [
        ['p', 'e', 7],
        ['p', 'f', 1],
        ['p', 'f', 2],
      ],
      ['deliver', 'deliver', 'deliver'],
    ],
    [
      'publishers apart',
      [
        ['p', 'e', 1],
        ['q', 'e', 9],
        ['p', 'e', 2],
        ['q', 'e', 11],
      ],
      ['deliver', 'deliver', 'deliver', 'deliver missed 1'],
    ],
  ])('%s', (_name, arrivals, verdicts) => {
    expect(feed(arrivals)).toEqual(verdicts);
  });

  it('counts what a mark says was missed, once, and only for a known publisher and epoch', () => {
    const t = new Tracker();
    t.receive('t', 'p', 'e', 3);
    expect(t.mark('t', 'p', 'e', 3)).toBe(0);
    expect(t.mark('t', 'p', 'e', 7)).toBe(4);
    expect(t.mark('t', 'p', 'e', 7)).toBe(0);
    expect(t.receive('t', 'p', 'e', 8)).toEqual({ deliver: true, missed: 0 });
    expect(t.mark('t', 'q', 'e', 5)).toBe(0);
    expect(t.mark('t', 'p', 'other', 50)).toBe(0);
    expect(t.mark('u', 'p', 'e', 50)).toBe(0);
  });

  it('forgets a topic it left: the next message sets where it stands again', () => {
    const t = new Tracker();
    t.receive('t', 'p', 'e', 1);
    t.forget('t');
    expect(t.receive('t', 'p', 'e', 10)).toEqual({ deliver: true, missed: 0 });
  });
});
