/**
 * Loads uWebSockets.js from @trufflesuite/uws-js-unofficial by its native binary directly: the
 * package's own wrapper silently falls back to a `ws`-based server when the binary fails to load,
 * which would benchmark `ws` under uWS's name.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type UwsLoad = { ok: true; module: any; version: string } | { ok: false; reason: string };

export function loadUws(): UwsLoad {
  let pkgJson: string;
  try {
    pkgJson = require.resolve('@trufflesuite/uws-js-unofficial/package.json');
  } catch {
    return { ok: false, reason: '@trufflesuite/uws-js-unofficial is not installed' };
  }
  const file = join(
    dirname(pkgJson),
    'dist',
    `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`,
  );
  if (!existsSync(file))
    return { ok: false, reason: `no uWebSockets.js binary for this platform/Node ABI (${file})` };
  try {
    const mod = { exports: {} as Record<string, unknown> };
    process.dlopen(mod, file);
    if (typeof mod.exports.App !== 'function') return { ok: false, reason: `${file} has no App()` };
    const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
    return { ok: true, module: mod.exports, version };
  } catch (err) {
    return { ok: false, reason: `cannot load ${file}: ${(err as Error).message}` };
  }
}
