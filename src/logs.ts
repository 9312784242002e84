import { Subject, type Observable } from 'rxjs';

/** Log verbosity: 0 none, 1 info, 2 verbose, 3 debug (IPWorks' LogLevel). */
export type LogLevel = 0 | 1 | 2 | 3;

/** Where on the accept path a request was refused or rejected. */
export type RefusalStage = 'connection' | 'handshake' | 'open';

/** The kinds of log entry (IPWorks' LogType, made specific). */
export type LogType =
  | 'listening'
  | 'stopped-listening'
  | 'accepted'
  | 'refused'
  | 'request'
  | 'open'
  | 'close'
  | 'error'
  | 'send-after-close'
  | 'dropped'
  | 'ready-to-send'
  | 'shutdown'
  | 'option-ignored'
  | 'debug';

/**
 * One structured log entry. `level` is the verbosity it belongs to (1 info, 2 verbose, 3 debug);
 * the optional fields are set where they apply.
 */
export interface LogEntry {
  readonly level: 1 | 2 | 3;
  readonly type: LogType;
  readonly message: string;
  readonly connectionId?: string;
  /** For `refused`: the stage of the accept path. */
  readonly stage?: RefusalStage;
  /** For `refused`, `close`, `error`: the error code or the HTTP status / close code. */
  readonly code?: string | number;
  /** For `refused` and `close`: the reason given. */
  readonly reason?: string;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
}

/**
 * The one way a stage of the accept path reports a refusal: a `refused` entry with its stage,
 * the code (an rxws error code, or the HTTP status it answered with), the reason and the peer.
 */
export function refusalEntry(
  stage: RefusalStage,
  code: string | number,
  reason: string,
  remoteAddress: string,
  remotePort: number | undefined,
): LogEntry {
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

  constructor(private readonly level: LogLevel) {}

  /** True when entries of this level are kept and someone listens: check before building one. */
  enabled(level: 1 | 2 | 3): boolean {
    return level <= this.level && this.subject.observed;
  }

  log(entry: LogEntry): void {
    if (entry.level <= this.level) this.subject.next(entry);
  }

  complete(): void {
    this.subject.complete();
  }
}
