import type { LogEntry } from '../logs';
import type { BackplaneEvent, TopicGap } from './backplane';

/** The `logs$` entry for a backplane's gap or change of state. Pure. */
export function backplaneEntry(event: TopicGap | BackplaneEvent): LogEntry {
  if ('type' in event) {
    const { topic, publisher, missed } = event;
    return {
      level: 1,
      type: 'gap',
      topic,
      publisher,
      missed,
      message: `missed ${missed} message(s) of topic ${JSON.stringify(topic)} from ${publisher}`,
    };
  }
  if (event.event === 'down') {
    return {
      level: 1,
      type: 'backplane',
      event: 'down',
      code: event.code,
      reason: event.reason,
      message: `backplane down (${event.code}): ${event.reason}; topics are delivered locally only`,
    };
  }
  return {
    level: 1,
    type: 'backplane',
    event: 'up',
    unsent: event.unsent,
    message:
      event.unsent > 0
        ? `backplane up; ${event.unsent} publish(es) made while it was down reached local subscribers only`
        : 'backplane up',
  };
}
