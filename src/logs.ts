import { Subject, type Observable } from 'rxjs';

/** Log verbosity: 0 none, 1 info, 2 verbose, 3 debug (IPWorks' LogLevel). */
export type LogLevel = 0 | 1 | 2 | 3;

/** Where on the accept path a request was refused or rejected. */
export type RefusalStage = 'connection' | 'tls' | 'handshake' | 'open';

/** What every log entry has. */
interface LogBase {
  /** The verbosity it belongs to: 1 info, 2 verbose, 3 debug. */
  readonly level: 1 | 2 | 3;
  /** One line for a person to read. */
  readonly message: string;
}

/** The client an entry is about. */
interface Peer {
  readonly remoteAddress: string;
  readonly remotePort: number | undefined;
}

/**
 * One structured log entry (IPWorks' Log event, made specific): a discriminated union by `type`,
 * each kind with the fields that apply to it.
 */
export type LogEntry =
  /** The server listens (info) or has stopped listening (info). */
  | (LogBase & { readonly type: 'listening' | 'stopped-listening' })
  /** A TCP connection passed the connection stage (info). */
  | (LogBase & Peer & { readonly type: 'accepted' })
  /**
   * A stage of the accept path refused the request (info): `code` is an rxws error code, or the
   * HTTP status it was answered with.
   */
  | (LogBase &
      Peer & {
        readonly type: 'refused';
        readonly stage: RefusalStage;
        readonly code: string | number;
        readonly reason: string;
      })
  /** An upgrade request arrived (verbose). */
  | (LogBase & Peer & { readonly type: 'request' })
  /** A connection opened (info). */
  | (LogBase & Peer & { readonly type: 'open'; readonly connectionId: string })
  /** A connection closed (info), with its close code and reason. */
  | (LogBase & {
      readonly type: 'close';
      readonly connectionId: string;
      readonly code: number;
      readonly reason: string;
    })
  /** A failure (info), of a connection when `connectionId` is set. */
  | (LogBase & { readonly type: 'error'; readonly code: string; readonly connectionId?: string })
  /** Data reached a connection after it closed, or its queue was lost at close (info). */
  | (LogBase & {
      readonly type: 'send-after-close';
      readonly connectionId: string;
      readonly code: string;
    })
  /** An overflow policy dropped or refused a send (info); `reason` is the policy. */
  | (LogBase & {
      readonly type: 'dropped';
      readonly connectionId: string;
      readonly code: string;
      readonly reason: string;
    })
  /** A ReadyToSend edge (verbose). */
  | (LogBase & {
      readonly type: 'ready-to-send';
      readonly connectionId: string;
      readonly reason: 'ready' | 'full';
    })
  /** `shutdown()` started (info), with the close code and reason sent to every client. */
  | (LogBase & { readonly type: 'shutdown'; readonly code: number; readonly reason: string })
  /** An option Node cannot apply (verbose). */
  | (LogBase & { readonly type: 'option-ignored' })
  /**
   * A host name of `allowedClients` was looked up (as the server starts listening, then every
   * `allowedClientsRefresh` ms): the addresses it allows changed (verbose), or the lookup failed
   * (info, with `code`, such as `'ENOTFOUND'`). `addresses` are those it allows now: after a
   * failure, those of the last lookup that answered (empty: it allows nobody).
   */
  | (LogBase & {
      readonly type: 'allow-list';
      readonly host: string;
      readonly addresses: readonly string[];
      readonly code?: string;
    })
  /**
   * TLS progress (IPWorks' SSLStatus): a handshake starts (debug), or it is done and the client
   * accepted (verbose), with what was negotiated. A failed handshake or a rejected client
   * certificate is a `refused` entry with stage `'tls'`.
   */
  | (LogBase &
      Peer &
      (
        | { readonly type: 'tls'; readonly event: 'handshake-start' }
        | {
            readonly type: 'tls';
            readonly event: 'secure';
            readonly protocol: string;
            /** IANA's name of the cipher suite. */
            readonly cipher: string;
            readonly resumed: boolean;
            readonly servername: string | undefined;
            /** The client certificate's verdict, when one was asked for. */
            readonly verdict: string | undefined;
          }
      ))
  /**
   * Messages of `topic` published on another instance never reached this one (info): `missed`
   * of them, from `publisher` (its `instanceId`). See `server.topic$(topic, { gaps: true })`.
   */
  | (LogBase & {
      readonly type: 'gap';
      readonly topic: string;
      readonly publisher: string;
      readonly missed: number;
    })
  /**
   * The backplane's link went down (info, `code` and `reason` say why) or came up again (info;
   * `unsent`: this instance's publishes it could not carry meanwhile, delivered locally only).
   */
  | (LogBase &
      (
        | {
            readonly type: 'backplane';
            readonly event: 'down';
            readonly code: string;
            readonly reason: string;
          }
        | { readonly type: 'backplane'; readonly event: 'up'; readonly unsent: number }
      ))
  /** Details for debugging (debug). */
  | (LogBase & { readonly type: 'debug' });

/** The kinds of log entry (IPWorks' LogType, made specific). */
export type LogType = LogEntry['type'];

/** Refusals by stage since the server was made: kept by the `Logger` (see `Logger.log()`). */
export type RefusalCounts = Record<RefusalStage, number>;

/**
 * The one way a stage of the accept path reports a refusal: a `refused` entry with its stage,
 * the code (an rxws error code, or the HTTP status it answered with), the reason and the peer.
 * Give it to `logger.log()` whatever the log level (never behind `enabled()`): that is where
 * refusals are counted for `server.stats.refused`.
 */
export function refusalEntry(
  stage: RefusalStage,
  code: string | number,
  reason: string,
  remoteAddress: string,
  remotePort: number | undefined,
): Extract<LogEntry, { type: 'refused' }> {
  const peer = `${remoteAddress}:${remotePort}`;
  return {
    level: 1,
    type: 'refused',
    stage,
    code,
    reason,
    message:
      typeof code === 'number'
        ? `rejected ${peer} at the ${stage} stage with HTTP ${code}: ${reason}`
        : code === 'ERR_TIMEOUT'
          ? `closed ${peer}: ${reason}`
          : `refused ${peer}: ${reason}`,
    remoteAddress,
    remotePort,
  };
}

/** Emits entries at or below the configured level on a hot stream. */
export class Logger {
  private readonly subject = new Subject<LogEntry>();
  /** Hot: entries emitted before subscribing are not replayed. */
  readonly logs$: Observable<LogEntry> = this.subject.asObservable();

  /**
   * @param refusals counted into, by stage, for every `refused` entry logged, whatever the level
   *   and whether anyone listens (`server.stats.refused`).
   */
  constructor(
    private readonly level: LogLevel,
    private readonly refusals?: RefusalCounts,
  ) {}

  /** True when entries of this level are kept and someone listens: check before building one. */
  enabled(level: 1 | 2 | 3): boolean {
    return level <= this.level && this.subject.observed;
  }

  log(entry: LogEntry): void {
    // Every refusal of the accept path comes through here (refusalEntry()), at any level: the
    // one place to count them without a hook in each stage.
    if (entry.type === 'refused' && this.refusals) this.refusals[entry.stage]++;
    if (entry.level <= this.level) this.subject.next(entry);
  }

  complete(): void {
    this.subject.complete();
  }
}
