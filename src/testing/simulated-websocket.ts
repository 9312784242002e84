import { EventEmitter } from 'node:events';
import type { PieceSink } from '../connection/receiver';
import { Opcode, encodeFrame, headerLength } from '../protocol/frame';
import type { SimulatedSocket } from './simulated-socket';

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
const EMPTY = Buffer.alloc(0);

/** A frame the simulated client sends. */
export type ClientFrame =
  | {
      readonly kind: 'data';
      readonly data: Buffer;
      readonly binary: boolean;
      readonly fin: boolean;
    }
  | { readonly kind: 'ping' | 'pong'; readonly data: Buffer }
  | { readonly kind: 'close'; readonly code: number | undefined; readonly reason: string };

/** Bytes a frame takes on the wire from a client (masked: 4 bytes of mask). */
function wireLength(payload: number): number {
  return headerLength(payload) + 4 + payload;
}

/**
 * The server side of an in-memory WebSocket: what rxws's connection asks of `ws`'s WebSocket,
 * with `ws`'s rules. Pings are answered with pongs; a close frame from the client is answered
 * with one (its code echoed); the socket ends once close frames went both ways; `'close'` comes
 * with the client's code, or 1006 when none came. No extension is negotiated, so rxws writes
 * every data frame itself (the same path as a real connection without permessage-deflate).
 *
 * The fields named like `ws`'s internals are the ones rxws reads (`connection/ws-wiring.ts`):
 * the receiver rxws hands pieces through, an idle sender, no extensions.
 */
export class SimulatedWebSocket extends EventEmitter {
  readonly extensions = '';
  readonly _receiver: {
    sink: PieceSink | undefined;
    setMessageLimit(bytes: number): void;
    releaseInflater(): void;
  } = { sink: undefined, setMessageLimit: () => undefined, releaseInflater: () => undefined };
  readonly _sender = Object.freeze({ _state: 0, _queue: [], _firstFragment: true });
  readonly _extensions = Object.freeze({});
  private state = OPEN;
  private paused = false;
  /** Frames from the client while reading is paused. */
  private held: ClientFrame[] = [];
  private closeFrameSent = false;
  private closeFrameReceived = false;
  private closeCode = 1006;
  private closeReason: Buffer = EMPTY;
  /** True between the first and the last frame of a client's message. */
  private inMessage = false;

  constructor(
    readonly protocol: string,
    private readonly socket: SimulatedSocket,
  ) {
    super();
    socket.once('close', () => {
      this.state = CLOSED;
      this.emit('close', this.closeCode, this.closeReason);
    });
  }

  get readyState(): number {
    return this.state;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  // What rxws's connection calls.

  ping(data?: string | Buffer): void {
    if (this.state === CONNECTING) throw new Error('WebSocket is not open');
    if (this.state !== OPEN) return;
    this.write(Opcode.PING, data === undefined ? EMPTY : Buffer.from(data));
  }

  close(code?: number, reason?: string): void {
    if (this.state === CLOSED) return;
    if (this.state === CLOSING) {
      if (this.closeFrameSent && this.closeFrameReceived) this.socket.end();
      return;
    }
    this.state = CLOSING;
    let payload = EMPTY;
    if (code !== undefined) {
      const text = Buffer.from(reason ?? '');
      payload = Buffer.allocUnsafe(2 + text.length);
      payload.writeUInt16BE(code, 0);
      text.copy(payload, 2);
    }
    this.closeFrameSent = true;
    this.write(Opcode.CLOSE, payload);
    if (this.closeFrameReceived) this.socket.end();
  }

  terminate(): void {
    if (this.state === CLOSED) return;
    this.state = CLOSING;
    this.socket.destroy();
  }

  pause(): void {
    if (this.state === CLOSED) return;
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (const frame of held) this.receive(frame);
  }

  // What the client does.

  /** A frame from the client: read now, or once reading resumes. */
  receive(frame: ClientFrame): void {
    if (this.socket.destroyed || this.closeFrameReceived) return;
    if (this.paused) {
      this.held.push(frame);
      return;
    }
    const payload =
      frame.kind === 'close' ? 2 + Buffer.byteLength(frame.reason) : frame.data.length;
    this.socket.bytesRead += wireLength(payload);
    switch (frame.kind) {
      case 'data': {
        const first = !this.inMessage;
        this.inMessage = !frame.fin;
        this._receiver.sink?.handlePiece(
          frame.data,
          frame.binary,
          first,
          frame.fin,
          frame.data.length,
        );
        return;
      }
      case 'ping':
        // ws answers every ping with a pong carrying the same payload.
        if (this.state === OPEN) this.write(Opcode.PONG, frame.data);
        this.emit('ping', frame.data);
        return;
      case 'pong':
        this.emit('pong', frame.data);
        return;
      case 'close':
        this.closeFrameReceived = true;
        this.closeCode = frame.code ?? 1005;
        this.closeReason = Buffer.from(frame.reason);
        // ws echoes the client's code (none for a close frame that had none).
        this.close(frame.code, frame.code === undefined ? undefined : frame.reason);
        return;
    }
  }

  private write(opcode: number, payload: Buffer): void {
    const frame = encodeFrame(opcode, payload);
    this.socket.write(Array.isArray(frame) ? Buffer.concat(frame) : frame);
  }
}
