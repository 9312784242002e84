/** rxws: a reactive WebSocket server for Node.js. The public API, and nothing else. */
export { createServer } from './server';
export type {
  BroadcastOptions,
  PublishOptions,
  RxwsServer,
  ShutdownOptions,
  TopicOptions,
} from './server';
export type { TopicMessage } from './pubsub/topic-message';
export type { ListenAddress } from './transport/listener';
export type {
  Connection,
  ConnectionRequestDetails,
  ConnectionStats,
  Disconnection,
} from './connection/connection';
export type { CloseInfo, ConnectionState } from './connection/close';
export type {
  ConnectionCounts,
  ServerMetrics,
  ServerStats,
  TrafficRates,
} from './metrics/server-stats';
export type { LatencySummary } from './util/histogram';
export type { Message } from './connection/message';
export type {
  BinaryData,
  MessageFormat,
  OutboundData,
  SendOptions,
} from './connection/outbound-data';
export type {
  FileSendOptions,
  SendProgress,
  StreamSendOptions,
  StreamSource,
} from './connection/transfer-types';
export { CloseCode, isValidCloseCode } from './protocol/close-codes';
export type { OverflowPolicy, QueueLimit } from './util/hold-queue';
export { admitWhen } from './operators/admit-when';
export type { AdmitWhenOptions } from './operators/admit-when';
export { allowedClients } from './operators/allowed-clients';
export { limitConnections } from './operators/limit-connections';
export type { LimitConnectionsOptions, LimitableRequest } from './operators/limit-connections';
export type { AllowedClientsOptions } from './operators/allowed-clients';
export type { HostLookup } from './transport/host-lookup';
export type { RefusableRequest } from './transport/allow-list';
export type { ConnectionRequest, ConnectionRequestInfo } from './transport/connection-request';
export type {
  AcceptDecision,
  OpenDecision,
  OpenRequest,
  RefusableOpenRequest,
  RejectDecision,
} from './handshake/open-request';
export { DEFAULT_OPTIONS } from './options';
export type {
  DefaultOptions,
  KeepAliveOptions,
  PerMessageDeflateOptions,
  ServerOptions,
  ResolvedOptions,
} from './options';
export type { HookResult } from './hooks';
export type { LogEntry, LogLevel, LogType, RefusalStage } from './logs';
export {
  ConnectionError,
  ConnectionRefusedError,
  HookError,
  InvalidArgumentError,
  InvalidOptionError,
  ListenError,
  RxwsError,
  SendError,
  UnmappedSettingError,
} from './errors';
export type { RxwsErrorCode, RxwsErrorDetails, UnmappedSetting } from './errors';
export { followReadyToSend } from './operators/follow-ready-to-send';
export type { FollowReadyToSendOptions } from './operators/follow-ready-to-send';
export { flowControl } from './operators/flow-control';
export type { FlowControlOptions, Pausable } from './operators/flow-control';
export { bufferMessage } from './operators/buffer-message';
export { ofType, parseJson, routeJson, toJson } from './operators/json';
export type {
  JsonMessage,
  JsonRoutes,
  ParseJsonOptions,
  RouteJsonOptions,
  ToJsonOptions,
  Typed,
} from './operators/json';
export type { BufferMessageOptions } from './operators/buffer-message';
export type { FragmentLike } from './connection/reassembler';
export { fromIPWorksConfig } from './migrate/ipworks-config';
export type {
  FromIPWorksConfigOptions,
  IPWorksConfig,
  IPWorksValue,
} from './migrate/ipworks-config';
export type { PemSource, TlsCertificate, TlsOptions, TlsVersion } from './transport/tls-options';
export type { ClientCertificateInfo, PeerCertificate, TlsFacts, TlsRequestInfo } from './tls-facts';
export { memoryBackplane } from './pubsub/backplane';
export type {
  Backplane,
  BackplaneEvent,
  BackplaneHost,
  BackplaneLink,
  Publication,
  TopicGap,
} from './pubsub/backplane';
