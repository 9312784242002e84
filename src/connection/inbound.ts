import type { ConnectionError } from '../errors';
import { HotStream } from '../util/hot-stream';
import type { Connection } from './connection';
import type { ConnectionContext, ConnectionSettings } from './context';
import { Reassembler } from './reassembler';
import type { PieceSink, StreamingReceiver } from './receiver';
import type { Message } from './message';

/** What the inbound path tells its connection: a message it cannot take closes the connection. */
export interface InboundOwner {
  /** A message over `maxPayload` or `maxFragments`: close with the error's code. */
  failInbound(error: ConnectionError): void;
}

/**
 * A connection's inbound path: the receiver's pieces to `fragments$`, to the reassembly when
 * someone wants whole messages, and to the server's `messages$`. The one place the
 * `bufferMessage` option decides what happens:
 *
 * - `bufferMessage: true`: every message is reassembled (bounded by `maxPayload`, which the
 *   receiver also checks on each frame header) and the server's `messages$` gets whole messages;
 * - `bufferMessage: false`: the server's `messages$` gets the pieces; a message is reassembled
 *   only while `conn.messages$` has a subscriber at its first piece, and the receiver's frame
 *   bound is off (a streamed message is bounded where it is reassembled, not on the wire).
 *
 * `conn.messages$` is `fragments$.pipe(bufferMessage({ maxSize: maxPayload, maxFragments }))`,
 * reassembled once for every subscriber by the operator's own core (`Reassembler`).
 */
export class Inbound implements PieceSink {
  /** Payload bytes and whole messages received. */
  bytesIn = 0;
  messagesIn = 0;
  // Streams are made on first use: an idle connection should cost little memory.
  private fragments: HotStream<Message> | undefined = undefined;
  private messages: HotStream<Message> | undefined = undefined;
  /** Made at the first message that needs reassembling: an idle connection does without. */
  private reassembler: Reassembler | undefined = undefined;
  /** The current message goes to the reassembly (decided at its first piece). */
  private reassembling = false;

  /** The `bufferMessage` option, read once. */
  private readonly buffered: boolean;

  constructor(
    private readonly connection: Connection & InboundOwner,
    private readonly ctx: ConnectionContext,
  ) {
    this.buffered = ctx.settings.bufferMessage;
  }

  /**
   * Points the receiver's pieces at `sink` (the connection, which makes its `Inbound` at the
   * first piece: an idle connection does without), with the receiver's frame bound as
   * `bufferMessage` wants it.
   */
  static attach(receiver: StreamingReceiver, sink: PieceSink, settings: ConnectionSettings): void {
    receiver.sink = sink;
    if (!settings.bufferMessage) receiver.setMessageLimit(0);
  }

  /** See `Connection.fragments$`. */
  get fragments$(): HotStream<Message> {
    return (this.fragments ??= this.stream());
  }

  /** See `Connection.messages$`. */
  get messages$(): HotStream<Message> {
    return (this.messages ??= this.stream());
  }

  handlePiece(data: Buffer, binary: boolean, first: boolean, eom: boolean, bytes: number): void {
    this.bytesIn += bytes;
    const format = binary ? 'binary' : 'text';
    const buffered = this.buffered;
    // A piece is made (and text decoded) only for whoever takes pieces.
    let piece: Message | undefined;
    if (!buffered || this.fragments?.observed) {
      piece = {
        connection: this.connection,
        data: binary ? data : data.toString(),
        format,
        eom,
      };
      this.fragments?.next(piece);
      if (!buffered) this.ctx.onMessage(piece);
    }
    // Reassembly starts at a message's first piece: one that starts mid-message would deliver
    // a truncated message as whole.
    if (first) this.reassembling = buffered || this.messages?.observed === true;
    if (!this.reassembling) {
      if (eom) this.messagesIn++;
      return;
    }
    let whole: Buffer | undefined;
    try {
      const settings = this.ctx.settings;
      whole = (this.reassembler ??= new Reassembler(
        settings.maxPayload,
        settings.maxFragments,
      )).pushBytes(data, format, eom, bytes);
    } catch (err) {
      this.reassembling = false;
      this.connection.failInbound(err as ConnectionError);
      return;
    }
    if (whole === undefined) return;
    this.messagesIn++;
    // A message in one piece is that piece (no copy, text decoded once).
    const message: Message =
      piece && whole === data
        ? piece
        : {
            connection: this.connection,
            data: binary ? whole : whole.toString(),
            format,
            eom: true,
          };
    this.messages?.next(message);
    if (buffered) this.ctx.onMessage(message);
  }

  /** The connection closed: streams complete, a message in progress is dropped. */
  complete(): void {
    this.messages?.complete();
    this.fragments?.complete();
    this.reassembler?.reset();
  }

  private stream(): HotStream<Message> {
    const stream = new HotStream<Message>();
    // Complete from the moment the socket has closed, before complete() is reached.
    if (this.connection.state === 'CLOSED') stream.complete();
    return stream;
  }
}
