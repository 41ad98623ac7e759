// Where replays write: a scratch copy per running replay (its pid in the name, so a replay killed
// with -9 leaves a file the next one recognises and removes), and the `--until` outputs.
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function replaysDir(dataDir: string): string {
  return join(dataDir, 'replays');
}

export function scratchFileFor(dataDir: string, projection: string, pid = process.pid): string {
  return join(replaysDir(dataDir), `${projection}.rebuild-${pid}.db`);
}

export function untilFileFor(dataDir: string, projection: string, label: string): string {
  return join(replaysDir(dataDir), `${projection}.until-${label}.db`);
}

/** A SQLite database is up to three files. */
export function removeDatabaseFiles(file: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(file + suffix, { force: true });
}

/** `from` must be closed (its WAL checkpointed). Copies when `to` is on another file system. */
export function moveDatabaseFile(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  removeDatabaseFiles(to);
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    copyFileSync(from, to);
  }
  removeDatabaseFiles(from);
}

/** Removes scratch copies left by replays of `projection` whose process is gone. */
export function removeAbandonedScratchFiles(dataDir: string, projection: string): number {
  const dir = replaysDir(dataDir);
  mkdirSync(dir, { recursive: true });
  const pattern = new RegExp(`^${projection.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.rebuild-(\\d+)\\.db$`);
  let removed = 0;
  for (const name of readdirSync(dir)) {
    const match = pattern.exec(name);
    if (!match || isAlive(Number(match[1]))) continue;
    removeDatabaseFiles(join(dir, name));
    removed++;
  }
  return removed;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Before a replay swaps into the live file: a live file SQLite cannot read (corrupt, not a
 * database) is moved aside with its WAL, so the swap starts a fresh one; a deleted live file's
 * leftover WAL and shared memory are moved aside too (SQLite would replay that WAL into the new
 * file). Returns where the damaged files went, or undefined when the live file was fine.
 */
export function setAsideDamagedLiveFile(liveFile: string, problem: (file: string) => string | undefined): { movedTo: string; reason: string } | undefined {
  const present = existsSync(liveFile);
  const reason = present ? problem(liveFile) : existsSync(`${liveFile}-wal`) || existsSync(`${liveFile}-shm`) ? 'the file was deleted; its WAL was left behind' : undefined;
  if (!reason) return undefined;
  const movedTo = `${liveFile}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  for (const suffix of ['', '-wal', '-shm', '-journal']) {
    if (existsSync(liveFile + suffix)) renameSync(liveFile + suffix, movedTo + suffix);
  }
  return { movedTo, reason };
}
