/**
 * A chat connection handler, written to be tested: it takes the connection and what it needs of
 * the server (publish), so a test hands it `testConnection()`'s. Its marble tests are in
 * spec/examples/testing-guide.spec.ts.
 */
import { parseJson, routeJson, type Connection, type OutboundData } from '../../src';

/** Who is on the connection: what the open-request hook found (`conn.data`). */
export interface ChatUser {
  readonly name: string;
}

/** What a chat client may send. */
export type ChatIn = { type: 'join'; room: string } | { type: 'say'; text: string };

/** The part of the server a chat connection uses. */
export interface Publisher {
  publish(topic: string, data: OutboundData): number;
}

function checkIn(value: unknown): ChatIn {
  const v = value as { type?: unknown; room?: unknown; text?: unknown } | null;
  if (v?.type === 'join' && typeof v.room === 'string') return { type: 'join', room: v.room };
  if (v?.type === 'say' && typeof v.text === 'string') return { type: 'say', text: v.text };
  throw new Error('not a chat message');
}

/**
 * One chat connection: `join` moves it to a room, `say` goes to everyone in its room (itself
 * included) with its user's name. Bad JSON closes it with 1007, an unknown type with 1008.
 */
export function chat(conn: Connection<ChatUser>, server: Publisher): void {
  let room: string | undefined;
  conn.messages$
    .pipe(
      parseJson<ChatIn>({ validate: checkIn }),
      routeJson<ChatIn, string>({
        join: ({ data }) => {
          if (room) conn.unsubscribe(`room:${room}`);
          room = data.room;
          conn.subscribe(`room:${room}`);
          return [JSON.stringify({ type: 'joined', room })];
        },
        say: ({ data }) => {
          if (!room) return [JSON.stringify({ type: 'error', reason: 'join a room first' })];
          server.publish(
            `room:${room}`,
            JSON.stringify({ type: 'said', user: conn.data.name, text: data.text }),
          );
          return [];
        },
      }),
    )
    .subscribe(conn.sink);
}
