import { spawn } from 'node:child_process';
import { firstValueFrom } from 'rxjs';
import { cleanup, startServer } from '../helpers/server';

afterEach(cleanup);

/**
 * An independent peer: the Python `websockets` library (Debian's python3-websockets), driven
 * by a small script. `.ci/run` installs it; without it this test fails and says how to install.
 */
const PYTHON = '/usr/bin/python3';
const SCRIPT = String.raw`
import asyncio, json, sys, websockets

async def main(url):
    out = {}
    async with websockets.connect(url, subprotocols=['v1.test'], max_size=None) as ws:
        out['protocol'] = ws.subprotocol
        await ws.send('héllo')
        out['text'] = await ws.recv()
        await ws.send(bytes([0, 1, 2, 255]))
        out['binary'] = list(await ws.recv())
        await ws.send(iter(['frag', 'men', 'ted']))
        out['fragmented'] = await ws.recv()
        pong = await ws.ping(b'hi')
        await asyncio.wait_for(pong, 5)
        out['pong'] = True
        await ws.close(4000, 'bye')
        out['close'] = [ws.close_code, ws.close_reason]
    print(json.dumps(out))

asyncio.run(main(sys.argv[1]))
`;

function runPython(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', SCRIPT, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(
            new Error(
              `python websockets client exited ${code}: ${err}` +
                (err.includes("No module named 'websockets'")
                  ? '\n(install it: apt-get install -y python3-websockets)'
                  : ''),
            ),
          ),
    );
  });
}

describe('interoperability with Python websockets', () => {
  it('echoes text, binary and fragmented messages, answers pings and reports the client close', async () => {
    const { server, url } = await startServer({ protocols: ['v1.test'] });
    server.connections$.subscribe((conn) =>
      conn.messages$.subscribe((m) => conn.sink.next(m.data)),
    );
    // A default value: if the client fails, the server's shutdown completes disconnections$
    // without one, and the test must fail on its own error, not on an unhandled EmptyError.
    const closed = firstValueFrom(server.disconnections$, { defaultValue: undefined });
    const result = JSON.parse(await runPython(`${url}/py`));
    expect(result).toEqual({
      protocol: 'v1.test',
      text: 'héllo',
      binary: [0, 1, 2, 255],
      fragmented: 'fragmented',
      pong: true,
      close: [4000, 'bye'],
    });
    expect(await closed).toMatchObject({ code: 4000, reason: 'bye', wasClean: true });
  });
});
