// One server per data directory. Two processes writing the same SQLite files would each trust
// their own stream cache and hand out the same revisions; so the log takes an OS-level lock first.
//
// Node has no flock, but SQLite takes POSIX locks: a small lock database opened with
// `locking_mode=EXCLUSIVE` and a write transaction begun (BEGIN EXCLUSIVE) holds an exclusive
// fcntl lock on its file until the connection closes or the process ends. The kernel drops it
// with the process, so a `kill -9` never leaves a stale lock; SQLite also refuses a second
// connection in the same process (another thread or a second server), as its locks are tracked
// per file there. The holder's pid sits in a plain file next to it, to name it in the refusal.
import { chmodSync, closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';

export class DataDirectoryLockedError extends Error {
  constructor(
    readonly lockFile: string,
    readonly holderPid: number | undefined,
  ) {
    super(
      `the event store data in ${lockFile.replace(/\.lock$/, '')} is in use by ${holderPid === undefined ? 'another process' : `process ${holderPid}`}` +
        ' (another event store holds its lock); stop it or use another data directory',
    );
    this.name = 'DataDirectoryLockedError';
  }
}

export interface DataDirectoryLock {
  release(): void;
}

/** Takes the lock of the store file `file` (`<file>.lock`), or throws DataDirectoryLockedError. */
export function lockDataFile(file: string): DataDirectoryLock {
  const lockFile = `${file}.lock`;
  const pidFile = `${lockFile}.pid`;
  // Made 0600 before SQLite opens it: the store's files are its owner's alone.
  closeSync(openSync(lockFile, 'a', 0o600));
  chmodSync(lockFile, 0o600);
  // timeout 0: a held lock is an answer, not something to wait for.
  const db = new Database(lockFile, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = MEMORY'); // nothing is ever written: no journal file beside it
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY') || (error as { code?: string }).code === 'SQLITE_LOCKED') {
      throw new DataDirectoryLockedError(lockFile, holderPid(pidFile));
    }
    throw error;
  }
  writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o600 });
  chmodSync(pidFile, 0o600);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      db.close(); // ends the transaction and drops the lock
    },
  };
}

function holderPid(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
