import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** The lock file in DATA_DIR that says which process has the embedded store open. */
export const STORE_LOCK_FILE = 'store.lock';

interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  readonly command: string;
  readonly since: string;
}

/**
 * Another process has the embedded store open. PGlite is one process's database: a second one
 * opening the same files would see part of the log (or damage it), so it is refused with this.
 */
export class StoreLockedError extends Error {
  override readonly name = 'StoreLockedError';
  readonly code = 'STORE_LOCKED';
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `The embedded store in ${dataDir} is in use by process ${holder.pid} (${holder.command}, since ${holder.since}). ` +
        `Only one process can open it: stop that process first, or use PostgreSQL (DATABASE_URL) to share the data between processes.`,
    );
  }
}

/** Whether a process with this id runs on this machine (EPERM: it runs, under another user). */
const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const readHolder = (path: string): LockHolder | null => {
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    return Number.isInteger(holder.pid) && holder.pid > 0 ? holder : null;
  } catch {
    // Missing, or half written by a process that died in the middle: nobody holds it.
    return null;
  }
};

/** Lock files this process holds, so that one process does not open its own store twice either. */
const heldHere = new Set<string>();

/**
 * Takes `<dataDir>/store.lock` for this process, or throws StoreLockedError naming the holder. A
 * lock left by a process that is gone (killed, crashed) is taken over. Returns the release function
 * (also run when the process exits).
 */
export const acquireStoreLock = (dataDir: string): (() => void) => {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, STORE_LOCK_FILE);
  const me: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    command: process.argv.slice(1, 3).map((part) => part.replace(/^.*\/(?=[^/]+\/[^/]+$)/, '')).join(' ') || 'node',
    since: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readHolder(path);
      const alive = holder !== null && (holder.pid === process.pid ? heldHere.has(path) : holder.hostname !== me.hostname || isRunning(holder.pid));
      if (holder && alive) throw new StoreLockedError(dataDir, holder);
      // Stale: its process is gone. Remove it and race for it again (one of several racers wins).
      try {
        unlinkSync(path);
      } catch (unlinkError) {
        if ((unlinkError as NodeJS.ErrnoException).code !== 'ENOENT') throw unlinkError;
      }
      continue;
    }
    try {
      writeSync(fd, `${JSON.stringify(me)}\n`);
    } finally {
      closeSync(fd);
    }
    heldHere.add(path);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      heldHere.delete(path);
      process.off('exit', release);
      // Only our own lock: a process that took over a lock it thought stale must keep its own.
      if (readHolder(path)?.pid === process.pid) {
        try {
          unlinkSync(path);
        } catch {
          // Already gone.
        }
      }
    };
    process.once('exit', release);
    return release;
  }
  throw new Error(`Could not take the lock ${path}: other processes keep replacing it.`);
};
