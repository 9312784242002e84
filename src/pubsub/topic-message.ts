import type { MessageFormat } from '../connection/outbound-data';

/** A message published on a topic, as `server.topic$()` emits it. */
export interface TopicMessage {
  readonly type: 'message';
  readonly topic: string;
  /** Text arrives as a `string`, binary as a `Buffer` (as in `Message`). */
  readonly data: string | Buffer;
  readonly format: MessageFormat;
}
