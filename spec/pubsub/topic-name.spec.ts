import { InvalidArgumentError } from '../../src';
import { MAX_TOPIC_BYTES, checkTopic } from '../../src/pubsub/topic-name';

describe('checkTopic()', () => {
  it.each([
    ['a one-character name', 't'],
    ['any characters', 'room:42/chat *#?>.'],
    ['256 one-byte characters', 'x'.repeat(256)],
    ['128 two-byte characters (256 bytes)', 'é'.repeat(128)],
    ['64 astral characters as surrogate pairs (256 bytes)', '😀'.repeat(64)],
  ])('accepts %s', (_, topic) => {
    expect(() => checkTopic(topic)).not.toThrow();
  });

  it.each([
    ['an empty string', '', 'topic must be a non-empty string, got ""'],
    ['a number', 42, 'topic must be a non-empty string, got 42'],
    ['undefined', undefined, 'topic must be a non-empty string, got undefined'],
    ['null', null, 'topic must be a non-empty string, got null'],
    ['an array', ['t'], 'topic must be a non-empty string, got an array'],
    ['257 one-byte characters', 'x'.repeat(257), 'topic must be at most 256 UTF-8 bytes, got 257'],
    ['129 two-byte characters', 'é'.repeat(129), 'topic must be at most 256 UTF-8 bytes, got 258'],
    [
      'a lone high surrogate',
      'a\ud800',
      'topic must be well-formed Unicode (no lone surrogates), got "a\\ud800"',
    ],
    [
      'a lone low surrogate',
      '\udc00b',
      'topic must be well-formed Unicode (no lone surrogates), got "\\udc00b"',
    ],
  ])('refuses %s with InvalidArgumentError', (_, topic, message) => {
    expect(() => checkTopic(topic)).toThrow(InvalidArgumentError);
    expect(() => checkTopic(topic)).toThrow(message);
    try {
      checkTopic(topic);
    } catch (err) {
      expect(err).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message });
    }
  });

  it('bounds names at 256 bytes', () => {
    expect(MAX_TOPIC_BYTES).toBe(256);
  });
});
