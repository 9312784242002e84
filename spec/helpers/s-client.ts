import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

/**
 * An independent TLS peer: OpenSSL's own client, `openssl s_client`, as a child process on the
 * loopback. Its standard input stays open until the spec ends it (without `-ign_eof`, s_client
 * closes the connection at end of input), so a spec can wait for what the server says first.
 * Every client still running when `closeSClients()` runs (after each test) is ended and awaited.
 *
 * s_client writes its handshake summary (`New, TLSv1.3, Cipher is ...`, the certificate chain,
 * `Verify return code`) and flushes it once the handshake is done; the data the server sends is
 * written unbuffered after it. Later notes, such as a TLS 1.3 `Post-Handshake New Session Ticket
 * arrived`, sit in stdio's buffer until it exits: a spec cannot wait on those.
 */
export interface SClient {
  /** Everything s_client wrote so far: stdout as latin1 (one char per byte), and stderr. */
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Writes to its standard input (sent over TLS once the handshake is done). */
  readonly write: (data: string | Buffer) => void;
  /** Ends its standard input: s_client then closes the connection (`DONE`) and exits. */
  readonly end: () => void;
  /**
   * Resolves once stdout (or stderr) matches `pattern`, or holds it when it is a string (bytes
   * as latin1: `frame.toString('latin1')`); rejects, with the output, if s_client exits first.
   */
  readonly waitFor: (pattern: RegExp | string, stream?: 'stdout' | 'stderr') => Promise<void>;
  /** Resolves once it has exited and its pipes are closed. */
  readonly exited: Promise<SClientExit>;
}

export interface SClientExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

const running = new Set<{ child: ChildProcessWithoutNullStreams; exited: Promise<unknown> }>();

/** Starts `openssl s_client -connect 127.0.0.1:<port> <args...>`. */
export function sClient(port: number, args: readonly string[]): SClient {
  const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = (): string => Buffer.concat(out).toString('latin1');
  const stderr = (): string => Buffer.concat(err).toString('utf8');
  const waiting = new Set<() => void>();
  const check = (): void => waiting.forEach((w) => w());
  child.stdout.on('data', (c: Buffer) => {
    out.push(c);
    check();
  });
  child.stderr.on('data', (c: Buffer) => {
    err.push(c);
    check();
  });
  // s_client may exit before it has read what a spec writes: that is for the spec to assert.
  child.stdin.on('error', () => undefined);
  const exited = new Promise<SClientExit>((resolve, reject) => {
    child.once('error', (e) =>
      reject(new Error(`cannot run openssl s_client (apt-get install -y openssl): ${e.message}`)),
    );
    child.once('close', (code, signal) =>
      resolve({ code, signal, stdout: stdout(), stderr: stderr() }),
    );
  });
  const entry = { child, exited: exited.catch(() => undefined) };
  running.add(entry);
  void entry.exited.then(() => running.delete(entry));
  let done = false;
  void entry.exited.then(() => {
    done = true;
    check();
  });

  return {
    stdout,
    stderr,
    write: (data) => {
      if (child.stdin.writable) child.stdin.write(data);
    },
    end: () => child.stdin.end(),
    exited,
    waitFor: (pattern, stream = 'stdout') =>
      new Promise((resolve, reject) => {
        const attempt = (): void => {
          const text = stream === 'stdout' ? stdout() : stderr();
          if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) {
            waiting.delete(attempt);
            resolve();
          } else if (done) {
            waiting.delete(attempt);
            reject(
              new Error(
                `s_client exited before ${stream} matched ${pattern}\n--- stdout\n${stdout()}\n--- stderr\n${stderr()}`,
              ),
            );
          }
        };
        waiting.add(attempt);
        attempt();
      }),
  };
}

/** Ends every s_client still running (input closed, then SIGKILL) and waits for each to exit. */
export async function closeSClients(): Promise<void> {
  const all = [...running];
  for (const { child } of all) {
    child.stdin.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await Promise.all(all.map((e) => e.exited));
}

/** The first line s_client prints after a handshake: `New, TLSv1.3, Cipher is TLS_AES_...`. */
export interface SessionLine {
  readonly reused: boolean;
  readonly protocol: string;
  readonly cipher: string;
}

/** Reads s_client's `New, ...` / `Reused, ...` line; undefined when it printed none. */
export function sessionLine(stdout: string): SessionLine | undefined {
  const found = /^(New|Reused), ([^,]+), Cipher is (\S+)$/m.exec(stdout);
  return found
    ? { reused: found[1] === 'Reused', protocol: found[2], cipher: found[3] }
    : undefined;
}

/** s_client's `Verify return code: 0 (ok)` line, as `'0 (ok)'`. */
export function verifyResult(stdout: string): string | undefined {
  return /^\s*Verify return code: (.+)$/m.exec(stdout)?.[1];
}
