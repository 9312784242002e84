import { execFile } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '../..');

describe('Promises rxws returns', () => {
  it('never end the process when nobody awaits them: 1,000 sends and disconnects to closed connections, no unhandled rejection', async () => {
    const { code, stdout, stderr } = await new Promise<{
      code: number | null;
      stdout: string;
      stderr: string;
    }>((resolve) =>
      execFile(
        process.execPath,
        [join(root, 'node_modules/tsx/dist/cli.mjs'), 'spec/fixtures/fire-and-forget.ts'],
        // Bounded: a fixture that hangs is killed, never left running.
        { cwd: root, timeout: 50_000 },
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      ),
    );
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    // 1,000 ignored sends and disconnects, plus the first and the awaited send, all on logs$.
    expect(JSON.parse(stdout)).toEqual({
      survived: true,
      unhandled: 0,
      awaited: 'ERR_NOT_OPEN',
      lostSends: 1002,
    });
  }, 60_000);
});
