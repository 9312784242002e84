/**
 * permessage-deflate (RFC 7692), for `perMessageDeflate: { ... }`; `perMessageDeflate: true`
 * takes every default.
 */
export interface PerMessageDeflateOptions {
  /**
   * Answer every client with `server_no_context_takeover`, even one that did not ask for it
   * (RFC 7692 7.1.1.1 lets the server add it): the server compresses each message on its own.
   * Then a message published or broadcast to many connections is compressed once for all of
   * them (one deflate per publish, not one per subscriber), and a connection that is sent only
   * such messages never gets a compressor of its own (`ws` keeps one per connection once it has
   * compressed for it: about 256 KiB of zlib state with the default window and memory level).
   * The cost: a message sent to one connection compresses less well (no history shared with the
   * messages before it), and one shorter than `threshold` goes uncompressed. `false`: only the
   * clients that ask for it get it (as in `ws`); the others keep a context per connection and
   * each compresses published messages for itself. Default true.
   */
  serverNoContextTakeover?: boolean;
  /**
   * Messages shorter than this many bytes go uncompressed where the server uses no context
   * takeover (`ws`'s `threshold`). Default 1024.
   */
  threshold?: number;
}

/** `perMessageDeflate` as the server reads it. */
export type ResolvedDeflate = Readonly<Required<PerMessageDeflateOptions>>;
