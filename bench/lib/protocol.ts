/** Messages between the benchmark orchestrator and its server and client processes (IPC). */

/** The servers under test. */
export type Target = 'rxws' | 'ws' | 'net' | 'uws';

export type ScenarioName =
  'echo-small' | 'echo-large' | 'fan-out' | 'connect' | 'idle-memory' | 'wss';

/** What the load does, for scenarios with cases of several kinds (wss: echo and connect). */
export type Workload = 'echo' | 'connect';

/**
 * wss: the certificate files (made at bench time, bench/lib/certs.ts) and the TLS settings both
 * servers and the client are pinned to.
 */
export interface BenchTls {
  certFile: string;
  keyFile: string;
  /** The CA that signed the certificate: what the client trusts. */
  caFile: string;
  minVersion: 'TLSv1.3';
  maxVersion: 'TLSv1.3';
  /** One suite (TLS 1.3 suites by their full names). */
  ciphers: string;
  /** Key-exchange group(s), `:`-separated. */
  groups: string;
}

/** What a wss client saw negotiated (from its first connection), and resumed sessions (none). */
export interface Negotiated {
  protocol: string;
  cipher: string;
  resumed: number;
}

/** What a server process is started with (argv[2], JSON). */
export interface ServerSpec {
  target: Target;
  scenario: ScenarioName;
  /** Payload bytes of the messages (echo: to build raw replies; fan-out: what is published). */
  payload: number;
  /** connect: whether the open-request hook is installed. */
  hook: boolean;
  /** wss: echo or connect. */
  workload?: Workload;
  /** wss: serve over TLS with these. */
  tls?: BenchTls;
  /**
   * fan-out: how rxws sends the message: `server.broadcast()` (default) or `server.publish()` to
   * a topic every connection subscribed to (uws: its pub/sub either way; ws: its loop).
   */
  publish?: FanOutVia;
  /** fan-out: negotiate permessage-deflate with each server's usual setting; JSON-like text. */
  deflate?: boolean;
}

/** How the fan-out server sends one message to every connection. */
export type FanOutVia = 'broadcast' | 'topic';

/** What a client process is asked to do. */
export interface ClientSpec {
  scenario: ScenarioName;
  port: number;
  connections: number;
  /** Messages in flight per connection (echo). */
  window: number;
  payload: number;
  binary: boolean;
  warmupMs: number;
  measureMs: number;
  /** connect: parallel open/close loops. */
  concurrency: number;
  /**
   * --quick (echo, connect): the measured window lasts until at least this many replies or
   * connects have completed (up to 20 s more), so that a loaded machine still reports a figure.
   */
  minCount?: number;
  /** wss: echo or connect. */
  workload?: Workload;
  /** wss: connect over TLS with these (the CA trusted, no session offered: full handshakes). */
  tls?: BenchTls;
  /**
   * fan-out: offer permessage-deflate and count messages by their frames (the server decides
   * how long a compressed one is); a server that does not accept the offer fails the run.
   */
  deflate?: boolean;
}

export interface CpuReport {
  /** CPU time used over the window as a share of one core, in percent. */
  cpuPercent: number;
  wallMs: number;
}

export interface MemoryReport {
  rss: number;
  heapUsed: number;
  external: number;
  connections: number;
}

export type ToServer =
  | { type: 'mark' }
  | { type: 'report' }
  | { type: 'memory' }
  | { type: 'publish' }
  | { type: 'stop' };

export type FromServer =
  | { type: 'ready'; port: number; native: { bufferutil: boolean; utf8Validate: boolean } }
  | { type: 'report'; cpu: CpuReport }
  | { type: 'memory'; memory: MemoryReport }
  | { type: 'published'; at: number }
  | { type: 'error'; message: string };

export type ToClient = { type: 'run'; spec: ClientSpec } | { type: 'continue' } | { type: 'stop' };

/** Metrics a client reports; which are set depends on the scenario. */
export interface ClientMetrics {
  messagesPerSec?: number;
  megabytesPerSec?: number;
  p50Ms?: number;
  p99Ms?: number;
  connectsPerSec?: number;
  deliveries?: number;
  /** fan-out with deflate: deliveries that came compressed (RSV1), and their wire bytes. */
  compressedDeliveries?: number;
  wireBytesPerDelivery?: number;
  failures?: number;
  /** wss: what was negotiated. */
  negotiated?: Negotiated;
  cpu: CpuReport;
}

export type FromClient =
  | { type: 'measuring' }
  | { type: 'open'; connections: number }
  | { type: 'round'; first: number; last: number; received: number }
  | { type: 'result'; metrics: ClientMetrics }
  | { type: 'error'; message: string };

/** Wall-clock time in ms with sub-ms precision, comparable across processes. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
