/** rxws/testing: a real connection over an in-memory socket, for marble tests of handlers. */
export { testConnection } from './test-connection';
export type { TestClient, TestConnection, TestConnectionOptions } from './test-connection';
export type { ReceivedFrame } from './received';
