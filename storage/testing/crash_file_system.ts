/**
 * An in-memory {@linkcode FileSystem} that knows what a power cut would keep: every file has the
 * bytes written to it and the bytes last synced, every folder the names it holds and the names
 * last synced. It can stop at any numbered step, as a crash would, and then give the file
 * system that restarts after the crash, for tests that must show nothing acknowledged is lost.
 *
 * The model: a file's content is durable once the file is synced; a name (creation, rename,
 * removal) is durable once its folder is synced. Folders themselves are durable when made.
 *
 * @module
 */
import { assert } from "../../util/assert.ts";
import type { FileSystem } from "../file_system.ts";

/**
 * What survives a crash:
 *
 * - `"process"`: the process died but the machine did not, so everything written survives;
 * - `"power"`: only synced contents under synced names survive;
 * - `"power-zeros"`: like `"power"`, but a file keeps the length it had, with zeros where its
 *   unsynced bytes were (a file system that recorded the new size but not the data).
 */
export type CrashMode = "process" | "power" | "power-zeros";

/** Every crash mode, for tests that try them all. */
export const CRASH_MODES: readonly CrashMode[] = ["process", "power", "power-zeros"];

/** Thrown by the step at which a crash was planned, and by every step after it. */
export class SimulatedCrash extends Error {
  /** Creates the error naming the step the crash happened before. */
  constructor(step: number, operation: string) {
    super(`Simulated crash before step ${step} (${operation})`);
    this.name = "SimulatedCrash";
  }
}

/** One file: its bytes as written and as last synced. */
interface Inode {
  written: Uint8Array;
  synced: Uint8Array;
}

/** Bound on files the model holds, so a runaway test fails instead of eating memory. */
const MAX_FILES = 10_000;

function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  assert(slash > 0, `Path ${path} is not an absolute path below the root`);
  return path.slice(0, slash);
}

function concatenate(first: Uint8Array, second: Uint8Array): Uint8Array {
  const result = new Uint8Array(first.byteLength + second.byteLength);
  result.set(first, 0);
  result.set(second, first.byteLength);
  return result;
}

/** An in-memory file system with durable and volatile state and planned crashes. */
export class CrashFileSystem implements FileSystem {
  readonly #folders = new Set<string>();
  /** Names as the running process sees them. */
  #names = new Map<string, Inode>();
  /** Names as the disk holds them, as of each folder's last sync. */
  #syncedNames = new Map<string, Inode>();
  #steps = 0;
  #crashAtStep = Number.POSITIVE_INFINITY;
  #crashed = false;

  /**
   * Steps that change something (write, append, truncate, sync, rename, remove) taken so far;
   * reads and closing take none.
   */
  get steps(): number {
    return this.#steps;
  }

  /** Whether the planned crash has happened. */
  get crashed(): boolean {
    return this.#crashed;
  }

  /**
   * Plans a crash just before step `step` (counted from 1 over the whole life of this file
   * system): that step and all later ones throw {@linkcode SimulatedCrash} without effect.
   */
  crashBeforeStep(step: number): void {
    assert(Number.isSafeInteger(step) && step > this.#steps, `Cannot crash before step ${step}`);
    this.#crashAtStep = step;
  }

  /** The file system a restarted machine finds after a crash now, in `mode`. */
  afterCrash(mode: CrashMode): CrashFileSystem {
    const next = new CrashFileSystem();
    for (const folder of this.#folders) next.#folders.add(folder);
    const names = mode === "process" ? this.#names : this.#syncedNames;
    const survivors = new Map<Inode, Inode>();
    for (const [path, inode] of names) {
      let survivor = survivors.get(inode);
      if (survivor === undefined) {
        const bytes = this.#survivingBytes(inode, mode);
        survivor = { written: bytes, synced: bytes };
        survivors.set(inode, survivor);
      }
      next.#names.set(path, survivor);
      next.#syncedNames.set(path, survivor);
    }
    return next;
  }

  /** The bytes at `path` as the process sees them, for tests that damage files. */
  peek(path: string): Uint8Array | null {
    return this.#names.get(path)?.written.slice() ?? null;
  }

  /** Replaces the bytes at `path`, durably and outside the step count, to model damage. */
  damage(path: string, bytes: Uint8Array): void {
    const inode = this.#names.get(path);
    assert(inode !== undefined, `Cannot damage ${path}: there is no such file`);
    inode.written = bytes.slice();
    inode.synced = bytes.slice();
  }

  /** Every file name the process sees, sorted. */
  list(): string[] {
    return [...this.#names.keys()].sort();
  }

  readFileSync(path: string): Uint8Array | null {
    this.#checkAlive("read");
    return this.#names.get(path)?.written.slice() ?? null;
  }

  makeDirectorySync(path: string): void {
    this.#step(`make ${path}`);
    // Bounded by the path's length: every round removes one component.
    for (let folder = path; folder.length > 0; folder = folder.slice(0, folder.lastIndexOf("/"))) {
      this.#folders.add(folder);
    }
  }

  writeFileSync(path: string, bytes: Uint8Array): void {
    this.#step(`write ${path}`);
    this.#requireFolder(path);
    const existing = this.#names.get(path);
    if (existing !== undefined) {
      existing.written = bytes.slice();
      return;
    }
    assert(this.#names.size < MAX_FILES, `Cannot create ${path}: over ${MAX_FILES} files`);
    this.#names.set(path, { written: bytes.slice(), synced: new Uint8Array(0) });
  }

  truncateSync(path: string, lengthBytes: number): void {
    this.#step(`truncate ${path}`);
    const inode = this.#existing(path);
    assert(lengthBytes <= inode.written.byteLength, `Cannot grow ${path} by truncating it`);
    inode.written = inode.written.slice(0, lengthBytes);
  }

  syncFileSync(path: string): void {
    this.#step(`sync ${path}`);
    const inode = this.#existing(path);
    inode.synced = inode.written.slice();
  }

  renameSync(from: string, to: string): void {
    this.#step(`rename ${from} to ${to}`);
    const inode = this.#existing(from);
    this.#requireFolder(to);
    this.#names.delete(from);
    this.#names.set(to, inode);
  }

  syncDirectorySync(path: string): void {
    this.#step(`sync folder ${path}`);
    assert(this.#folders.has(path), `Cannot sync folder ${path}: there is no such folder`);
    for (const name of [...this.#syncedNames.keys()]) {
      if (parentOf(name) === path && !this.#names.has(name)) this.#syncedNames.delete(name);
    }
    for (const [name, inode] of this.#names) {
      if (parentOf(name) === path) this.#syncedNames.set(name, inode);
    }
  }

  removeSync(path: string): void {
    this.#step(`remove ${path}`);
    this.#names.delete(path);
  }

  readFile(path: string): Promise<Uint8Array> {
    return this.#later(() => {
      this.#checkAlive("read");
      return this.#existing(path).written.slice();
    });
  }

  writeFile(path: string, bytes: Uint8Array): Promise<void> {
    return this.#later(() => this.writeFileSync(path, bytes));
  }

  appendFile(path: string, bytes: Uint8Array): Promise<void> {
    return this.#later(() => {
      this.#step(`append to ${path}`);
      const inode = this.#existing(path);
      inode.written = concatenate(inode.written, bytes);
    });
  }

  syncFile(path: string): Promise<void> {
    return this.#later(() => this.syncFileSync(path));
  }

  rename(from: string, to: string): Promise<void> {
    return this.#later(() => this.renameSync(from, to));
  }

  syncDirectory(path: string): Promise<void> {
    return this.#later(() => this.syncDirectorySync(path));
  }

  /** Nothing is held open. */
  close(): void {}

  #survivingBytes(inode: Inode, mode: CrashMode): Uint8Array {
    if (mode === "process") return inode.written.slice();
    if (mode === "power") return inode.synced.slice();
    const bytes = new Uint8Array(Math.max(inode.written.byteLength, inode.synced.byteLength));
    bytes.set(inode.synced, 0);
    return bytes;
  }

  /** Runs `operation` as an asynchronous call would: errors reject the promise. */
  async #later<Result>(operation: () => Result): Promise<Result> {
    await Promise.resolve();
    return operation();
  }

  #step(operation: string): void {
    this.#checkAlive(operation);
    this.#steps++;
    if (this.#steps >= this.#crashAtStep) {
      this.#crashed = true;
      throw new SimulatedCrash(this.#steps, operation);
    }
  }

  #checkAlive(operation: string): void {
    if (this.#crashed) throw new SimulatedCrash(this.#steps, operation);
  }

  #existing(path: string): Inode {
    const inode = this.#names.get(path);
    if (inode === undefined) throw new Deno.errors.NotFound(`No such file: ${path}`);
    return inode;
  }

  #requireFolder(path: string): void {
    const folder = parentOf(path);
    if (!this.#folders.has(folder)) throw new Deno.errors.NotFound(`No such folder: ${folder}`);
  }
}
