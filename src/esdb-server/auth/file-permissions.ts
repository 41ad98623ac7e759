// The store's files belong to the user that runs it: its directory is 0700 and every file in it
// 0600, as a database's files should be. Node cannot set a umask inside a worker thread (where the
// service runs the store), so files are created with an explicit mode, and what SQLite creates
// beside a database (-wal, -shm, journals) takes the database file's mode: a database file made
// 0600 before SQLite opens it keeps its companions 0600 too. tightenFiles() fixes what an older
// version left readable.
import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export const PRIVATE_DIRECTORY_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `dir` (and parents) when missing and makes it 0700. */
export function privateDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  chmodSync(dir, PRIVATE_DIRECTORY_MODE);
}

/** Makes sure `file` exists (empty when it did not) with mode 0600, before anyone else creates it. */
export function privateFile(file: string): void {
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  chmodSync(file, PRIVATE_FILE_MODE);
}

/** Writes `file` whole or not at all (a temporary file renamed over it), mode 0600. */
export function writePrivateFile(file: string, content: string): void {
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  writeFileSync(temporary, content, { mode: PRIVATE_FILE_MODE, flush: true });
  chmodSync(temporary, PRIVATE_FILE_MODE);
  renameSync(temporary, file);
}

/** Every file of `dir` whose name starts with `prefix` made 0600 (the directory itself 0700). */
export function tightenFiles(dir: string, prefix: string): void {
  chmodSync(dir, PRIVATE_DIRECTORY_MODE);
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    const path = join(dir, name);
    try {
      if (statSync(path).isFile() && (statSync(path).mode & 0o777) !== PRIVATE_FILE_MODE) chmodSync(path, PRIVATE_FILE_MODE);
    } catch (error) {
      // A journal SQLite removed meanwhile is no longer anybody's to read.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}
