/**
 * How the orchestrator starts a benchmark process: node running one of the bench/ TypeScript
 * files, which load rxws from `dist/`.
 *
 * The full run: through tsx (`--import tsx`), against dist/ as `tsc` builds it (run.ts builds it
 * first). The --quick smoke run starts 76 processes; tsx's hooks cost each of them 0.1–0.2 s of
 * CPU (more than most of their runs), and `tsc` several seconds. So --quick compiles bench/ and
 * src/ once with esbuild (the one tsx runs on; src/ is written for per-file compiling,
 * `isolatedModules`) into a temporary directory laid out like the repository (its own dist/,
 * node_modules/ linked in), and starts the JavaScript on plain node. The repository's dist/ is
 * not touched.
 */
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = join(__dirname, '..', '..');
let compiled: string | undefined;

/** The part of esbuild's API used here. */
interface Esbuild {
  buildSync(options: {
    entryPoints: string[];
    outbase: string;
    outdir: string;
    format: 'cjs';
    platform: 'node';
    target: string;
    keepNames?: boolean;
    logLevel: 'error';
  }): unknown;
}

/** The .ts files in `dir` (and its subdirectories when `deep`). */
function sources(dir: string, deep: boolean): string[] {
  return readdirSync(dir, { recursive: deep, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => join(dir, f));
}

/** --quick: compiles bench/ and src/ to a temporary directory, removed when this process exits. */
export function compileForQuick(): void {
  const dir = mkdtempSync(join(tmpdir(), 'rxws-bench-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  // tsx's own esbuild, resolved from tsx (it is tsx's dependency, not this package's).
  const esbuild = createRequire(require.resolve('tsx/package.json'))('esbuild') as Esbuild;
  const common = {
    format: 'cjs',
    platform: 'node',
    target: `node${process.versions.node}`,
    logLevel: 'error',
  } as const;
  // The bench files as tsx compiles them (keepNames, as tsx does).
  const bench = join(root, 'bench');
  esbuild.buildSync({
    ...common,
    entryPoints: [...sources(bench, false), ...sources(join(bench, 'lib'), false)],
    outbase: root,
    outdir: dir,
    keepNames: true,
  });
  // rxws: src/ to <dir>/dist/, where the bench files look for it (`../dist`, `../../dist`).
  const src = join(root, 'src');
  esbuild.buildSync({
    ...common,
    entryPoints: sources(src, true),
    outbase: src,
    outdir: join(dir, 'dist'),
  });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  compiled = dir;
}

/** The node arguments that run the bench file `file` (a .ts path) with node's `flags`. */
export function nodeArgs(file: string, flags: string[], quick: boolean): string[] {
  if (!quick) return ['--import', 'tsx', ...flags, file];
  if (compiled === undefined) throw new Error('--quick: compileForQuick() has not run');
  return [...flags, join(compiled, relative(root, file)).replace(/\.ts$/, '.js')];
}
