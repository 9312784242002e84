import { InvalidArgumentError, show } from '../errors';

/** The longest topic name, in UTF-8 bytes. */
export const MAX_TOPIC_BYTES = 256;

/** In a `u` regex a surrogate pair is one astral code point: only lone surrogates are `Cs`. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Checks a topic name: a non-empty string of at most `MAX_TOPIC_BYTES` (256) UTF-8 bytes, and
 * well-formed Unicode, so that two names never encode to the same bytes on a backplane (a lone
 * surrogate would become U+FFFD). Any such string is a name; nothing else is reserved. Pure.
 * @throws {InvalidArgumentError} with one sentence naming what is wrong and the value.
 */
export function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0) {
    throw new InvalidArgumentError(`topic must be a non-empty string, got ${show(topic)}`);
  }
  // A UTF-16 unit takes at most 3 UTF-8 bytes: a short name needs no measuring.
  if (topic.length * 3 > MAX_TOPIC_BYTES) {
    const bytes = Buffer.byteLength(topic);
    if (bytes > MAX_TOPIC_BYTES) {
      throw new InvalidArgumentError(
        `topic must be at most ${MAX_TOPIC_BYTES} UTF-8 bytes, got ${bytes}`,
      );
    }
  }
  if (LONE_SURROGATE.test(topic)) {
    throw new InvalidArgumentError(
      `topic must be well-formed Unicode (no lone surrogates), got ${show(topic)}`,
    );
  }
}
