/**
 * The few file operations crash-safe storage needs, behind one interface, so the same storage
 * code runs on the real disk ({@linkcode DiskFileSystem}) and on an in-memory model that keeps
 * only what was synced across a simulated power cut (raft/crash_file_system.ts).
 *
 * Operations that run when a peer starts are synchronous (a storage's `load()` is); those that
 * run while it serves are asynchronous, so a slow fsync does not stop the event loop and the
 * driver can gather the next batch meanwhile (group commit). The disk's `appendFile` writes
 * small appends synchronously all the same: they only reach the page cache, and the fsync after
 * them is what waits for the disk.
 *
 * @module
 */

/** File operations on absolute paths. Nothing here is durable until synced. */
export interface FileSystem {
  /** The file's bytes, or null when there is no file at `path`. */
  readFileSync(path: string): Uint8Array | null;
  /** Creates the folder and its parents when missing. */
  makeDirectorySync(path: string): void;
  /** Creates or replaces the file at `path` with `bytes`. */
  writeFileSync(path: string, bytes: Uint8Array): void;
  /** Cuts the file at `path` down to `lengthBytes`. */
  truncateSync(path: string, lengthBytes: number): void;
  /** Flushes the file's data to the disk. */
  syncFileSync(path: string): void;
  /** Moves `from` to `to`, replacing `to` if it exists. */
  renameSync(from: string, to: string): void;
  /** Flushes the folder's entries (creations, renames) to the disk. */
  syncDirectorySync(path: string): void;
  /** Deletes the file at `path` if there is one. */
  removeSync(path: string): void;

  /** The file's bytes; throws when it is missing. */
  readFile(path: string): Promise<Uint8Array>;
  /** Creates or replaces the file at `path` with `bytes`. */
  writeFile(path: string, bytes: Uint8Array): Promise<void>;
  /** Adds `bytes` at the end of the existing file at `path`. */
  appendFile(path: string, bytes: Uint8Array): Promise<void>;
  /** Flushes the file's data to the disk. */
  syncFile(path: string): Promise<void>;
  /** Moves `from` to `to`, replacing `to` if it exists. */
  rename(from: string, to: string): Promise<void>;
  /** Flushes the folder's entries (creations, renames) to the disk. */
  syncDirectory(path: string): Promise<void>;

  /** Releases every handle held open; the file system may be used again afterwards. */
  close(): void;
}

/**
 * Appends up to this size are written synchronously (see {@linkcode DiskFileSystem.appendFile}):
 * copying 64 KiB into the page cache takes tens of microseconds, so the event loop barely stalls.
 */
export const SYNC_APPEND_MAX_BYTES = 64 * 1024;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}

/** Writes all of `bytes` at the file's position; each round writes at least one byte. */
async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  // Bounded: every round advances `written` by at least one byte or throws.
  while (written < bytes.byteLength) {
    const count = await file.write(bytes.subarray(written));
    if (count <= 0) throw new Error(`Cannot write to a file: the write returned ${count}`);
    written += count;
  }
}

/** The synchronous twin of {@linkcode writeAll}. */
function writeAllSync(file: Deno.FsFile, bytes: Uint8Array): void {
  let written = 0;
  // Bounded: every round advances `written` by at least one byte or throws.
  while (written < bytes.byteLength) {
    const count = file.writeSync(bytes.subarray(written));
    if (count <= 0) throw new Error(`Cannot write to a file: the write returned ${count}`);
    written += count;
  }
}

/**
 * {@linkcode FileSystem} on the real disk with Deno's file API. Files written or appended to stay
 * open until synced, renamed or {@linkcode DiskFileSystem.close}d, so an append and its fsync do
 * not each pay for an open; folders are synced by opening them read-only and calling fsync,
 * which Linux supports.
 */
export class DiskFileSystem implements FileSystem {
  /** Open handles by path: at most one per file the storage writes (log, temporary files). */
  readonly #open = new Map<string, Deno.FsFile>();

  /** Reads the whole file, or gives null when it does not exist. */
  readFileSync(path: string): Uint8Array | null {
    try {
      return Deno.readFileSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
  }

  /**
   * `mkdir -p`, then fsync of the parent of every folder it made, so a new peer's folder cannot
   * vanish in a power cut after the peer has voted from it.
   */
  makeDirectorySync(path: string): void {
    const missing: string[] = [];
    // Bounded by the path's length: every round removes one component.
    for (
      let folder = path;
      folder.lastIndexOf("/") > 0 && !exists(folder);
      folder = parentOf(folder)
    ) {
      missing.push(folder);
    }
    if (missing.length === 0) return;
    Deno.mkdirSync(path, { recursive: true });
    for (const folder of missing) this.syncDirectorySync(parentOf(folder));
  }

  /** Creates or replaces the file and writes `bytes`; the handle stays open for the sync. */
  writeFileSync(path: string, bytes: Uint8Array): void {
    this.#forget(path);
    const file = Deno.openSync(path, { write: true, create: true, truncate: true });
    this.#open.set(path, file);
    writeAllSync(file, bytes);
  }

  /** Truncates through a fresh handle (an append handle would keep its own position). */
  truncateSync(path: string, lengthBytes: number): void {
    this.#forget(path);
    Deno.truncateSync(path, lengthBytes);
  }

  /** fdatasync on the open handle, or on a read-only one opened for it. */
  syncFileSync(path: string): void {
    const open = this.#open.get(path);
    if (open !== undefined) {
      open.syncDataSync();
      return;
    }
    const file = Deno.openSync(path, { read: true });
    try {
      file.syncDataSync();
    } finally {
      file.close();
    }
  }

  /** rename(2); handles on either path are closed first so later appends reopen by name. */
  renameSync(from: string, to: string): void {
    this.#forget(from);
    this.#forget(to);
    Deno.renameSync(from, to);
  }

  /** fsync on the folder opened read-only. */
  syncDirectorySync(path: string): void {
    const folder = Deno.openSync(path, { read: true });
    try {
      folder.syncSync();
    } finally {
      folder.close();
    }
  }

  /** unlink(2), quiet when the file is already gone. */
  removeSync(path: string): void {
    this.#forget(path);
    try {
      Deno.removeSync(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  /** Reads the whole file. */
  readFile(path: string): Promise<Uint8Array> {
    return Deno.readFile(path);
  }

  /** Creates or replaces the file and writes `bytes`; the handle stays open for the sync. */
  async writeFile(path: string, bytes: Uint8Array): Promise<void> {
    this.#forget(path);
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    this.#open.set(path, file);
    await writeAll(file, bytes);
  }

  /**
   * Writes at the end through a handle opened in append mode and kept for the next call. Up to
   * {@linkcode SYNC_APPEND_MAX_BYTES} the write is synchronous: it only copies into the page
   * cache, which takes microseconds, while an asynchronous write costs a round trip through
   * Deno's blocking thread pool (about 100 µs on a busy two-core machine) before the fsync can
   * even start. Nothing is durable before {@linkcode DiskFileSystem.syncFile} either way.
   */
  async appendFile(path: string, bytes: Uint8Array): Promise<void> {
    let file = this.#open.get(path);
    if (file === undefined) {
      file = await Deno.open(path, { append: true });
      this.#open.set(path, file);
    }
    if (bytes.byteLength <= SYNC_APPEND_MAX_BYTES) writeAllSync(file, bytes);
    else await writeAll(file, bytes);
  }

  /** fdatasync on the open handle, or on a read-only one opened for it. */
  async syncFile(path: string): Promise<void> {
    const open = this.#open.get(path);
    if (open !== undefined) {
      await open.syncData();
      return;
    }
    const file = await Deno.open(path, { read: true });
    try {
      await file.syncData();
    } finally {
      file.close();
    }
  }

  /** rename(2); handles on either path are closed first so later appends reopen by name. */
  async rename(from: string, to: string): Promise<void> {
    this.#forget(from);
    this.#forget(to);
    await Deno.rename(from, to);
  }

  /** fsync on the folder opened read-only. */
  async syncDirectory(path: string): Promise<void> {
    const folder = await Deno.open(path, { read: true });
    try {
      await folder.sync();
    } finally {
      folder.close();
    }
  }

  /** Closes every handle kept open. */
  close(): void {
    for (const file of this.#open.values()) file.close();
    this.#open.clear();
  }

  #forget(path: string): void {
    const file = this.#open.get(path);
    if (file === undefined) return;
    this.#open.delete(path);
    file.close();
  }
}
