import { execFile } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '../..');

describe('Promises rxws returns', () => {
  it('never end the process when nobody awaits them (no unhandled rejection)', async () => {
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
    expect({ code, stdout: stdout.trim(), stderr }).toEqual({
      code: 0,
      stdout: 'survived',
      stderr: '',
    });
  }, 60_000);
});
