import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { Opcode } from '../protocol/frame';
import { FrameWriter, type WriteCallback } from './frame-writer';
import type { DeflateWaiter, SharedDeflate, SharedMessage } from './shared-message';
import { negotiatedDeflate, senderIdle } from './ws-wiring';
import {
  HoldQueue,
  UNBOUNDED,
  type Held,
  type OverflowPolicy,
  type QueueLimit,
} from '../util/hold-queue';
import type { LatencyHistogram } from '../util/histogram';

export type { WriteCallback };

/** A send waiting in the queue until the socket's buffer drains. */
interface Pending {
  data: Buffer | string;
  binary: boolean;
  cb: WriteCallback | undefined;
  /** A streamed send waiting for its turn (then `data` is empty). */
  transfer?: Transfer;
  /** A message sent to many connections, framed or compressed once for all (`sendShared()`). */
  shared?: SharedMessage;
  /** `performance.now()` when it was queued: how long it waits goes to `waits`. */
  queuedAt: number;
}

/** A streamed send, as the queue sees it: started at its turn, told when the socket drains. */
export interface Transfer {
  /** Its turn has come: it owns the line until it calls `outbound.transferEnded()`. */
  start(): void;
  /** The socket drained: write more. */
  resume(): void;
  /** Dropped by the overflow policy or failed with the queue, before its turn. */
  refused(err: Error | undefined): void;
  /** True when it ends with the queue (`queueFailed()`) rather than through its owner. */
  readonly endsWithQueue: boolean;
  /**
   * The queue failed (the connection closes) while this send owned the line: true when it ended
   * there (its line is free); false when its owner ends it otherwise.
   */
  queueFailed(err: Error | undefined): boolean;
}

export type { OverflowPolicy, QueueLimit };

/**
 * How the connection learns about its queue: overflows (to count, log, report, close) and
 * ReadyToSend edges. The connection itself, so no object per connection for it.
 */
export interface OverflowHandler {
  /** Makes the error a dropped or refused send rejects with. */
  overflowError(code: 'ERR_WOULD_BLOCK' | 'ERR_DROPPED'): Error;
  /** One send was dropped or refused under `policy`; `fromSink` when it had no callback. */
  overflowed(policy: OverflowPolicy, bytes: number, fromSink: boolean): void;
  /** `ready` changed (ReadyToSend). */
  readyChanged(ready: boolean): void;
}

const EMPTY = Buffer.alloc(0);
const kOutbound = Symbol('rxws.outbound');

/** A handle on a queued send, to withdraw it before it reaches the socket. */
export interface QueuedSend {
  /** Withdraws the send if it is still queued; true when it was (nothing of it was sent). */
  withdraw(): boolean;
}

const SENT: QueuedSend = Object.freeze({ withdraw: () => false });

/** The queue of every outbound with nothing waiting: read, never offered to (see ownQueue()). */
const NO_QUEUE = new HoldQueue<Pending>(() => undefined);

type OwnedSocket = Socket & { [kOutbound]?: Outbound };

// One 'drain' listener for every socket (the outbound is found through it): no closure each.
function onDrain(this: OwnedSocket): void {
  this[kOutbound]?.flush();
}

/**
 * The connection's send line: writes data frames (through the `FrameWriter` it extends) while
 * the socket's write buffer holds less than `highWaterMark` bytes, and queues them in order
 * otherwise, bounded by `limit` under `policy` (the hold queue); a streamed or split send owns
 * the line until it ends. Tells its `overflow` handler about drops and ReadyToSend edges.
 */
export class Outbound extends FrameWriter {
  /** Sends waiting their turn: a shared empty queue until the first send has to wait. */
  private queue: HoldQueue<Pending> = NO_QUEUE;
  private _limit: QueueLimit = UNBOUNDED;
  private _policy: OverflowPolicy = 'error';
  private waitingForDrain = false;
  private listeningForDrain = false;
  private emptyWaiters: Array<() => void> | undefined;
  /** Called after each drain that let held sends move: progress for send timeouts. */
  onProgress: (() => void) | undefined;
  private _ready = true;
  /** Payload bytes and messages handed to the socket. */
  bytesOut = 0;
  messagesOut = 0;
  overflow: OverflowHandler | undefined;
  /** The streamed send that owns the line, if any: other sends wait behind it. */
  private active: Transfer | undefined;

  /**
   * @param waits where each queued send records how long it waited, as it leaves the queue for
   *   the socket (a send written at once records nothing).
   */
  constructor(
    ws: WebSocket,
    socket: Socket,
    private readonly highWaterMark: number,
    private readonly waits?: LatencyHistogram,
  ) {
    super(ws, socket);
    (socket as OwnedSocket)[kOutbound] = this;
  }

  /** The queue's bound; set by the connection. */
  get limit(): QueueLimit {
    return this._limit;
  }

  set limit(limit: QueueLimit) {
    this._limit = limit;
    if (this.queue !== NO_QUEUE) this.queue.limit = limit;
  }

  /** What happens to a send past the bound; set by the connection. */
  get policy(): OverflowPolicy {
    return this._policy;
  }

  set policy(policy: OverflowPolicy) {
    this._policy = policy;
    if (this.queue !== NO_QUEUE) this.queue.policy = policy;
  }

  /** The queue, made at the first send that has to wait: an idle connection does without. */
  private ownQueue(): HoldQueue<Pending> {
    if (this.queue === NO_QUEUE) {
      this.queue = new HoldQueue<Pending>(
        (held, policy, evicted) => this.dropped(held, policy, evicted),
        this._limit,
        this._policy,
      );
    }
    return this.queue;
  }

  /** Payload bytes waiting in the queue. */
  get queuedBytes(): number {
    return this.queue.bytes;
  }

  /** The most payload bytes the queue has held. */
  get peakQueuedBytes(): number {
    return this.queue.peakBytes;
  }

  /**
   * True while a send can go straight to the socket without its buffer growing past the
   * high-water mark (IPWorks' ReadyToSend); false from the send that fills it until it drains.
   */
  get ready(): boolean {
    return this._ready;
  }

  /** Number of sends waiting in the queue. */
  get queued(): number {
    return this.queue.length;
  }

  /** Bytes in the socket's write buffer, not counting the queue. */
  get buffered(): number {
    return this.socket.writableLength;
  }

  /** Sends one whole message, now or once the socket drains; `cb` follows ws's send callback. */
  send(
    data: Buffer | string,
    binary: boolean,
    cb?: WriteCallback,
    bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length,
  ): QueuedSend {
    if (this.clear) {
      this.handOff(data, binary, cb, bytes);
      this.checkFull();
      return SENT;
    }
    this.setReady(false);
    const queue = this.ownQueue();
    const held = queue.offer({ data, binary, cb, queuedAt: performance.now() }, bytes);
    if (!held) return SENT;
    this.waitForDrain();
    return { withdraw: () => queue.withdraw(held) };
  }

  /**
   * Sends a message on its way to many connections (a broadcast, a publish), taking the bytes
   * made once for all of them where this connection can:
   * - without an extension, the plain frame, written as it is when the socket can take it now
   *   and nothing waits ahead of it (a message over `maxFrameSize` is sent like any, split);
   * - with permessage-deflate where the server uses no context takeover (see `sharedWindow()`),
   *   the message compressed once for every connection with the same window, at its turn: at
   *   once when nothing waits ahead of it, else queued in order (under the queue's bound and
   *   policy, as any send) and written when it comes out. Below `ws`'s threshold, the plain
   *   frame, as `ws` would send it uncompressed. Whenever `ws`'s sender still holds an earlier
   *   message (compressing it), the message goes through `ws` behind it instead, compressed by
   *   it for this connection: a shared frame never overtakes;
   * - with context takeover (or a window too small to share), through `ws`, which compresses it
   *   with this connection's own context.
   */
  sendShared(message: SharedMessage): void {
    const { payload, binary, bytes } = message;
    if (this.direct) {
      if (!this.clear || (this.maxFrameSize > 0 && bytes > this.maxFrameSize)) {
        this.send(payload, binary, undefined, bytes);
        return;
      }
      this.messagesOut++;
      this.bytesOut += bytes;
      // Not corked until the next tick: a broadcast writes one frame per socket, so that would
      // only add the uncork's writev. A socket already corked this tick takes it in order.
      this.writeEncoded(message.frame, undefined);
      this.checkFull();
      return;
    }
    if (sharedWindow(this.ws) === 0) {
      this.send(payload, binary, undefined, bytes);
      return;
    }
    if (this.clear) {
      this.handOffShared(message);
      this.checkFull();
      return;
    }
    this.setReady(false);
    const pending: Pending = {
      data: payload,
      binary,
      cb: undefined,
      shared: message,
      queuedAt: performance.now(),
    };
    if (this.ownQueue().offer(pending, bytes)) this.waitForDrain();
  }

  /** A shared message's turn has come (permessage-deflate): see `sendShared()`. */
  private handOffShared(message: SharedMessage): void {
    const { payload, binary, bytes } = message;
    if (!this.canShare) {
      // ws still holds an earlier message (compressing it): this one goes behind it, through ws.
      this.handOff(payload, binary, undefined, bytes);
      return;
    }
    const ws = this.ws;
    if (bytes < (negotiatedDeflate(ws)?._threshold ?? 0)) {
      // ws sends it uncompressed too (no context takeover): the plain frame, in one piece.
      if (this.maxFrameSize > 0 && bytes > this.maxFrameSize) {
        this.handOff(payload, binary, undefined, bytes);
        return;
      }
      this.messagesOut++;
      this.bytesOut += bytes;
      this.writeEncoded(message.frame, undefined);
      return;
    }
    const deflated = message.deflate(sharedWindow(ws));
    if (deflated.done) {
      this.writeDeflated(message, deflated);
      return;
    }
    // Compressed on the thread pool: this connection's line waits for it, in order.
    const wait = new DeflateWait(this, message, deflated);
    this.active = wait;
    this.setReady(false);
    deflated.whenDone(wait);
  }

  /** @internal the compression `wait` waited for has ended: its message goes, then the rest. */
  deflateEnded(wait: DeflateWait): void {
    if (this.active !== wait) return;
    this.active = undefined;
    this.writeDeflated(wait.message, wait.compression);
    if (this.active !== undefined) return;
    if (!this.socket.destroyed) this.flush();
    else this.notifyEmpty();
  }

  /** Writes a message's shared compressed frames, or sends it through `ws` when it cannot. */
  private writeDeflated(message: SharedMessage, deflated: SharedDeflate): void {
    const frames = this.canShare ? deflated.frames(this.maxFrameSize) : undefined;
    if (frames === undefined) {
      this.handOff(message.payload, message.binary, undefined, message.bytes);
      return;
    }
    this.messagesOut++;
    this.bytesOut += message.bytes;
    const socket = this.socket;
    if (frames.length === 1) {
      socket.write(frames[0]);
      return;
    }
    socket.cork();
    for (let i = 0; i < frames.length; i++) socket.write(frames[i]);
    socket.uncork();
  }

  /**
   * True when a frame written to the socket now goes out in order: the connection is open and
   * `ws`'s sender holds nothing given to it earlier (no message being compressed or queued).
   */
  private get canShare(): boolean {
    return this.ws.readyState === WebSocket.OPEN && senderIdle(this.ws);
  }

  /** True when a send can go to the socket now: nothing waits ahead of it, room below the mark. */
  private get clear(): boolean {
    return (
      this.queue.length === 0 &&
      this.active === undefined &&
      this.socket.writableLength < this.highWaterMark
    );
  }

  /** After a send went to the socket: past the high-water mark, not ready until it drains. */
  private checkFull(): void {
    if (this.socket.writableLength >= this.highWaterMark) {
      this.setReady(false);
      this.waitForDrain();
    }
  }

  /** A send the overflow policy did not keep: fail its callback and tell the connection. */
  private dropped(held: Held<Pending>, policy: OverflowPolicy, evicted: boolean): void {
    const handler = this.overflow;
    const transfer = held.value.transfer;
    if (transfer) {
      transfer.refused(handler?.overflowError('ERR_WOULD_BLOCK'));
      handler?.overflowed(policy, held.bytes, false);
      return;
    }
    const cb = held.value.cb;
    if (cb) {
      const err = handler?.overflowError(
        policy === 'drop-newest' || policy === 'drop-oldest' ? 'ERR_DROPPED' : 'ERR_WOULD_BLOCK',
      );
      // A new send's callback is called later, as ws calls its callbacks: never inside send().
      if (evicted) cb(err);
      else process.nextTick(cb, err);
    }
    handler?.overflowed(policy, held.bytes, cb === undefined);
  }

  /** Fails every queued send with the error `makeError()` returns, and empties the queue. */
  failQueued(makeError: () => Error): number {
    const items = this.queue.clear();
    const active = this.active;
    // Made only when something waits: an Error captures a stack trace, costly per close.
    const err = items.length > 0 || active?.endsWithQueue ? makeError() : undefined;
    if (active?.queueFailed(err)) this.active = undefined;
    for (const held of items) {
      if (held.value.transfer) held.value.transfer.refused(err);
      else held.value.cb?.(err);
    }
    this.notifyEmpty();
    return items.length;
  }

  /** True when nothing is queued and no streamed or split send owns the line. */
  get idle(): boolean {
    return this.queue.length === 0 && this.active === undefined;
  }

  /**
   * Calls `callback` once the queue is empty and the send that owns the line (if any) has ended
   * (at once when idle), or once the socket is gone: in the same turn as the last send leaves,
   * so that what follows it (a close frame) is written right behind it.
   */
  onQueueEmpty(callback: () => void): void {
    if (this.idle) callback();
    else (this.emptyWaiters ??= []).push(callback);
  }

  /** @internal Moves queued sends to the socket while it is below the high-water mark. */
  flush(): void {
    this.waitingForDrain = false;
    if (this.active) {
      this.active.resume();
      if (this.active) return;
    }
    const queue = this.queue;
    // One clock read for the sends this drain lets go: they reach the socket together.
    const now = queue.length > 0 && this.waits ? performance.now() : 0;
    while (
      queue.length > 0 &&
      this.active === undefined &&
      this.socket.writableLength < this.highWaterMark
    ) {
      const held = queue.shift()!;
      this.waits?.record(now - held.value.queuedAt);
      if (held.value.transfer) {
        this.active = held.value.transfer;
        held.value.transfer.start();
      } else if (held.value.shared) {
        this.handOffShared(held.value.shared);
      } else {
        this.handOff(held.value.data, held.value.binary, held.value.cb, held.bytes);
      }
    }
    if (this.active) return;
    if (queue.length === 0) {
      this.notifyEmpty();
      if (this.socket.writableLength < this.highWaterMark) this.setReady(true);
      else if (!this.socket.destroyed) this.waitForDrain();
    } else if (!this.socket.destroyed) {
      this.waitForDrain();
    }
    this.onProgress?.();
  }

  /** True when a frame written now would not take the socket's buffer past the high-water mark. */
  override get canWrite(): boolean {
    return this.socket.writableLength < this.highWaterMark && !this.socket.destroyed;
  }

  /**
   * Queues a streamed send: it starts at once when nothing is ahead of it, else at its turn,
   * and owns the line until `transferEnded()`. Refused by the overflow policy like any send.
   */
  enqueueTransfer(transfer: Transfer): void {
    this.setReady(false);
    if (this.queue.length === 0 && this.active === undefined) {
      this.active = transfer;
      transfer.start();
      return;
    }
    const pending: Pending = {
      data: EMPTY,
      binary: true,
      cb: undefined,
      transfer,
      queuedAt: performance.now(),
    };
    if (this.ownQueue().offer(pending, 0)) this.waitForDrain();
  }

  /** Withdraws a transfer that has not started; false when it has (or is unknown). */
  withdrawTransfer(transfer: Transfer): boolean {
    return this.queue.withdrawWhere((p) => p.transfer === transfer);
  }

  /** The active transfer is done (or gave up): the next sends may go. */
  transferEnded(transfer: Transfer): void {
    if (this.active !== transfer) return;
    this.active = undefined;
    if (!this.socket.destroyed) this.flush();
    else this.notifyEmpty();
  }

  /** The transfer that owns the line now. */
  get activeTransfer(): Transfer | undefined {
    return this.active;
  }

  /**
   * Writes one frame of a streamed message: `first` picks the opcode (text/binary, else
   * continuation), `fin` ends the message. Split further by `maxFrameSize`.
   */
  writeFragment(
    data: Buffer,
    binary: boolean,
    first: boolean,
    fin: boolean,
    cb?: WriteCallback,
  ): void {
    this.bytesOut += data.length;
    if (fin) this.messagesOut++;
    this.cork();
    this.writeFrames(data, binary, first, fin, cb);
    if (this.socket.writableLength >= this.highWaterMark) this.waitForDrain();
  }

  private setReady(ready: boolean): void {
    if (this._ready === ready) return;
    this._ready = ready;
    this.overflow?.readyChanged(ready);
  }

  /** Writes one frame; `bytes` is the payload's length in bytes, measured once by the caller. */
  private handOff(
    data: Buffer | string,
    binary: boolean,
    cb: WriteCallback | undefined,
    bytes: number,
  ): void {
    this.messagesOut++;
    this.bytesOut += bytes;
    this.cork();
    if (this.maxFrameSize > 0 && bytes > this.maxFrameSize) {
      const split = new SplitSend(
        this,
        typeof data === 'string' ? Buffer.from(data) : data,
        binary,
        cb,
      );
      // What the socket does not take now goes as it drains, frame by frame, so that control
      // frames (ws's pongs, a close) can go between them; later sends wait behind it.
      if (!this.writeSplit(split)) this.active = split;
      return;
    }
    this.writeFrame(binary ? Opcode.BINARY : Opcode.TEXT, data, binary, true, cb, bytes);
  }

  /**
   * Writes frames of a message split by `maxFrameSize` while the socket takes them (at least
   * one); true when the last has been written.
   */
  writeSplit(split: SplitSend): boolean {
    const { data } = split;
    this.cork();
    split.at = this.writeFrames(data, split.binary, true, true, split.cb, split.at, true);
    if (split.at < data.length) {
      this.waitForDrain();
      return false;
    }
    return true;
  }

  private waitForDrain(): void {
    if (this.waitingForDrain) return;
    this.waitingForDrain = true;
    // Listened for from the first held send on: a connection that never waits costs no listener.
    if (!this.listeningForDrain) {
      this.listeningForDrain = true;
      this.socket.on('drain', onDrain);
    }
    // 'drain' only comes after a write() that returned false; below the socket's own
    // high-water mark it does not, so ask for a callback once what is buffered is written.
    if (!this.socket.writableNeedDrain && this.socket.writable) {
      this.socket.write(EMPTY, () => this.flush());
    }
  }

  private notifyEmpty(): void {
    const waiters = this.emptyWaiters;
    if (!waiters || (this.active !== undefined && !this.socket.destroyed)) return;
    this.emptyWaiters = undefined;
    for (const resolve of waiters) resolve();
  }
}

/**
 * The window bits of the shared compressed frames a permessage-deflate connection can take, or 0
 * when it cannot: the server must use no context takeover with it (`server_no_context_takeover`
 * in the negotiated response), so that each message is compressed on its own and the same bytes
 * suit every such client; the client inflates with `server_max_window_bits` (15 when absent),
 * and a compression with that window or a smaller one is right for it. Not below 9 bits: zlib
 * makes a raw deflate asked for 8 use 9.
 */
function sharedWindow(ws: WebSocket): number {
  const params = negotiatedDeflate(ws)?.params;
  if (params?.server_no_context_takeover !== true) return 0;
  const bits = params.server_max_window_bits;
  const window = typeof bits === 'number' ? bits : 15;
  return window >= 9 ? window : 0;
}

/**
 * A shared message whose compression (on the thread pool) was not done when its turn came: it
 * owns the connection's line until then, so later sends wait behind it.
 */
class DeflateWait implements Transfer, DeflateWaiter {
  readonly endsWithQueue = true;

  constructor(
    private readonly outbound: Outbound,
    readonly message: SharedMessage,
    readonly compression: SharedDeflate,
  ) {}

  /** Made the owner of the line by `handOffShared()` itself, never queued: nothing to start. */
  start(): void {}

  /** The socket drained: nothing to do, the compression decides when it goes. */
  resume(): void {}

  refused(): void {}

  queueFailed(): boolean {
    // The connection closes: the message is not sent; the line is free at once.
    return true;
  }

  deflated(): void {
    this.outbound.deflateEnded(this);
  }
}

/** A whole message longer than `maxFrameSize` whose frames did not all fit in the socket's buffer. */
class SplitSend implements Transfer {
  /** Bytes of `data` written so far. */
  at = 0;
  readonly endsWithQueue = true;

  constructor(
    private readonly outbound: Outbound,
    readonly data: Buffer,
    readonly binary: boolean,
    readonly cb: WriteCallback | undefined,
  ) {}

  start(): void {
    this.resume();
  }

  resume(): void {
    if (this.outbound.writeSplit(this)) this.outbound.transferEnded(this);
  }

  refused(err: Error | undefined): void {
    this.cb?.(err);
  }

  queueFailed(err: Error | undefined): boolean {
    this.cb?.(err);
    return true;
  }
}
