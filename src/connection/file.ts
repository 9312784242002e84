import { open, type FileHandle } from 'node:fs/promises';

/** Opens a regular file for reading; resolves with its handle and size. Rejects for anything else. */
export async function openFile(path: string): Promise<{ file: FileHandle; size: number }> {
  const file = await open(path, 'r');
  try {
    const info = await file.stat();
    if (!info.isFile()) {
      throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
    }
    return { file, size: info.size };
  } catch (err) {
    await file.close();
    throw err;
  }
}
