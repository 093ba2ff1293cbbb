import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { SeededRandom } from "../util/random.ts";
import { CRASH_MODES, CrashFileSystem, SimulatedCrash } from "./testing/crash_file_system.ts";
import { DiskFileSystem, type FileSystem } from "./file_system.ts";
import {
  FileStorage,
  type FileStorageOptions,
  IDENTITY_FILE,
  LOG_FILE,
  SNAPSHOT_FILE,
  STATE_FILE,
} from "./file_storage.ts";
import type { Entry } from "../raft/messages.ts";
import type { PersistRequest, RestoredState } from "../raft/storage.ts";
import {
  EMPTY_STATE,
  modelOf,
  partialStates,
  persistAll,
  randomPersistRequests,
  withRequest,
} from "./testing/storage_model.ts";

const MEMORY_DIR = "/data/peer-1";

function entries(from: number, to: number, term: number): Entry[] {
  const result: Entry[] = [];
  for (let index = from; index <= to; index++) {
    result.push({ index, term, command: `command ${index}` });
  }
  return result;
}

/** A storage on `files` at {@linkcode MEMORY_DIR} whose log lines go to `lines`. */
function openMemory(
  files: FileSystem,
  lines: string[] = [],
  options: Partial<FileStorageOptions> = {},
): FileStorage {
  return new FileStorage({
    dir: MEMORY_DIR,
    id: 1,
    files,
    log: (line) => lines.push(line),
    minRewriteBytes: 64,
    ...options,
  });
}

function modelAfter(requests: readonly PersistRequest[]): RestoredState {
  return requests.reduce(withRequest, EMPTY_STATE);
}

/** Opens a fresh storage on what `files` holds and returns what it restored. */
function reload(files: FileSystem, options: Partial<FileStorageOptions> = {}): RestoredState {
  const storage = openMemory(files, [], options);
  try {
    return modelOf(storage.load());
  } finally {
    storage.close();
  }
}

/** A hand-made sequence with every kind of change, for the tests on real files. */
const SCRIPT: readonly PersistRequest[] = [
  { hardState: { term: 1, votedFor: 1 } },
  { logChange: { append: entries(1, 5, 1) } },
  {
    hardState: { term: 2, votedFor: 0 },
    logChange: { truncateAfter: 3, append: entries(4, 8, 2) },
  },
  { snapshot: { index: 4, term: 2, data: Uint8Array.of(4, 4, 4) } },
  { logChange: { append: [{ index: 9, term: 2, command: Uint8Array.of(0, 1, 2, 255) }] } },
  // A leader's snapshot past the log, then entries after it.
  {
    hardState: { term: 3, votedFor: -1 },
    snapshot: { index: 12, term: 3, data: Uint8Array.of(12) },
  },
  { logChange: { append: entries(13, 16, 3) } },
  { logChange: { append: [{ index: 17, term: 3, command: { key: "k", value: "v" } }] } },
];

Deno.test("FileStorage restores what a random sequence of persists left, after every persist", async () => {
  let rewrites = 0;
  for (const seed of [1, 2, 3, 4]) {
    const requests = randomPersistRequests(new SeededRandom(seed), { count: 150 });
    const files = new CrashFileSystem();
    const storage = openMemory(files);
    assert.deepEqual(modelOf(storage.load()), EMPTY_STATE);
    let model = EMPTY_STATE;
    let previousLogBytes = storage.logFileSize();
    for (const request of requests) {
      await storage.persist(request);
      model = withRequest(model, request);
      if (storage.logFileSize() < previousLogBytes) rewrites++;
      previousLogBytes = storage.logFileSize();
      // Acknowledged means synced: a power cut right now must keep all of it.
      assert.deepEqual(reload(files.afterCrash("power")), model, `seed ${seed}`);
    }
    storage.close();
  }
  assert.ok(rewrites > 0, "No sequence made the log big enough to be rewritten");
});

Deno.test("FileStorage on disk restores the script, and counts live bytes only", async () => {
  const dir = await Deno.makeTempDir({ prefix: "file_storage_test" });
  try {
    const storage = new FileStorage({ dir: `${dir}/peer`, id: 0, clusterId: "test" });
    assert.deepEqual(modelOf(storage.load()), EMPTY_STATE);
    const sizes: number[] = [];
    for (const request of SCRIPT) {
      await storage.persist(request);
      sizes.push(storage.raftStateSize());
    }
    storage.close();
    // Entries 1-8 (with a truncation) grow the state; snapshot 4 drops four entries from it.
    assert.ok(sizes[2] > sizes[1] && sizes[1] > sizes[0]);
    assert.ok(sizes[3] < sizes[2]);
    const names = [...Deno.readDirSync(`${dir}/peer`)].map((entry) => entry.name).sort();
    assert.deepEqual(names, [IDENTITY_FILE, LOG_FILE, SNAPSHOT_FILE, STATE_FILE]);
    const reopened = new FileStorage({ dir: `${dir}/peer`, id: 0, clusterId: "test" });
    assert.deepEqual(modelOf(reopened.load()), modelAfter(SCRIPT));
    assert.equal(reopened.raftStateSize(), sizes.at(-1));
    reopened.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileStorage rewrites a log whose dead records outweigh the live ones, keeping every live entry", async () => {
  const files = new CrashFileSystem();
  const storage = openMemory(files, [], { minRewriteBytes: 1024 });
  storage.load();
  const requests: PersistRequest[] = [{ hardState: { term: 1, votedFor: 1 } }];
  for (let first = 1; first <= 400; first += 10) {
    requests.push({ logChange: { append: entries(first, first + 9, 1) } });
  }
  await persistAll(storage, requests);
  const fullBytes = storage.logFileSize();
  // A truncation and a snapshot leave entries 301-390 and 391-395 (rewritten) live.
  const compaction: PersistRequest[] = [
    { logChange: { truncateAfter: 390, append: entries(391, 395, 1) } },
    { snapshot: { index: 300, term: 1, data: Uint8Array.of(3) } },
  ];
  await persistAll(storage, compaction);
  assert.ok(
    storage.logFileSize() < fullBytes / 2,
    `Log of ${storage.logFileSize()} bytes was not rewritten from ${fullBytes}`,
  );
  const restored = reload(files.afterCrash("power"));
  const expected = modelAfter([...requests, ...compaction]);
  assert.deepEqual(restored, expected);
  assert.deepEqual(restored.entries.map((entry) => entry.index), range(301, 395));
  // The rewritten log goes on taking appends.
  await storage.persist({ logChange: { append: entries(396, 397, 1) } });
  storage.close();
  assert.deepEqual(
    reload(files.afterCrash("power")).entries.map((entry) => entry.index),
    range(301, 397),
  );
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, offset) => from + offset);
}

Deno.test("FileStorage loses nothing acknowledged when it crashes at any step, in any crash mode", async () => {
  let rewrites = 0;
  for (const seed of [11, 12, 13]) {
    const requests = randomPersistRequests(new SeededRandom(seed), { count: 30, maxAppend: 4 });
    const dryRun = new CrashFileSystem();
    const dryStorage = openMemory(dryRun);
    dryStorage.load();
    for (const request of requests) {
      const before = dryStorage.logFileSize();
      await dryStorage.persist(request);
      if (dryStorage.logFileSize() < before) rewrites++;
    }
    for (let step = 1; step <= dryRun.steps; step++) {
      for (const mode of CRASH_MODES) {
        const label = `seed ${seed}, step ${step}, ${mode}`;
        await crashAndRecover(requests, step, mode, new SeededRandom(seed * 1000 + step), label);
      }
    }
  }
  assert.ok(rewrites > 0, "No run rewrote its log, so no crash hit a rewrite");
});

/** How far a run cut short by a simulated crash got. */
interface CrashedRun {
  /** The state the persists acknowledged before the crash make. */
  readonly acknowledged: RestoredState;
  /** How many requests were acknowledged. */
  readonly done: number;
}

/**
 * Opens a storage with `open`, loads it and persists `requests` in order until a simulated crash
 * stops it (opening included, as it touches the files); any other error fails the test.
 */
async function persistUntilCrash(
  open: () => FileStorage,
  requests: readonly PersistRequest[],
): Promise<CrashedRun> {
  let acknowledged = EMPTY_STATE;
  let done = 0;
  try {
    const storage = open();
    storage.load();
    for (const request of requests) {
      await storage.persist(request);
      acknowledged = withRequest(acknowledged, request);
      done++;
    }
  } catch (error) {
    if (!(error instanceof SimulatedCrash)) throw error;
  }
  return { acknowledged, done };
}

/**
 * Runs `requests` with a crash before `step` and restarts: the state restored must be one a
 * prefix of the writes explains, and the peer must be able to go on from it, both with the
 * rest of the run and with new requests that start from what it restored (as a restarted
 * core's would).
 */
async function crashAndRecover(
  requests: readonly PersistRequest[],
  step: number,
  mode: (typeof CRASH_MODES)[number],
  random: SeededRandom,
  label: string,
): Promise<void> {
  const files = new CrashFileSystem();
  files.crashBeforeStep(step);
  const { acknowledged, done } = await persistUntilCrash(() => openMemory(files), requests);
  assert.ok(files.crashed, `${label}: the run ended without its crash`);
  const restarted = files.afterCrash(mode);
  const restored = reload(restarted);
  const allowed = done === requests.length
    ? [acknowledged]
    : partialStates(acknowledged, requests[done]);
  const match = allowed.findIndex((state) => isDeepStrictEqual(state, restored));
  assert.ok(match >= 0, `${label}: restored a state no prefix of the writes explains`);
  assert.deepEqual(restarted.list().filter((name) => name.endsWith(".tmp")), [], label);
  const fresh = randomPersistRequests(random, { count: 4, maxAppend: 3, start: restored });
  await goOn(restarted.afterCrash("process"), fresh, fresh.reduce(withRequest, restored), label);
  // The same run, resumed: the request in flight again (unless it all landed), then the rest.
  const resumeAt = match === allowed.length - 1 && done < requests.length ? done + 1 : done;
  await goOn(restarted, requests.slice(resumeAt), modelAfter(requests), label);
}

/** Persists `requests` on a storage opened on `files` and checks a reload gives `expected`. */
async function goOn(
  files: CrashFileSystem,
  requests: readonly PersistRequest[],
  expected: RestoredState,
  label: string,
): Promise<void> {
  const storage = openMemory(files);
  storage.load();
  await persistAll(storage, requests);
  storage.close();
  assert.deepEqual(reload(files.afterCrash("power")), expected, label);
}

Deno.test("FileStorage survives a crash at any step of recovering from a torn write", async () => {
  const files = new CrashFileSystem();
  const storage = openMemory(files);
  storage.load();
  const prefix = SCRIPT.slice(0, 5);
  await persistAll(storage, prefix);
  storage.close();
  const log = `${MEMORY_DIR}/${LOG_FILE}`;
  const bytes = files.peek(log) as Uint8Array;
  files.damage(log, Uint8Array.from([...bytes, 0, 0, 0, 9, 1]));
  const expected = modelAfter(prefix);
  const clean = files.afterCrash("power");
  const startSteps = clean.steps;
  reload(clean);
  const recoverySteps = clean.steps - startSteps;
  assert.ok(recoverySteps > 0);
  for (let step = 1; step <= recoverySteps; step++) {
    for (const mode of CRASH_MODES) {
      const attempt = files.afterCrash("power");
      attempt.crashBeforeStep(step);
      assert.throws(() => reload(attempt), SimulatedCrash);
      assert.deepEqual(reload(attempt.afterCrash(mode)), expected, `step ${step}, ${mode}`);
    }
  }
});

/** A file system that dies before a chosen step; what it wrote stays, as in a process crash. */
class DyingFileSystem implements FileSystem {
  readonly #inner = new DiskFileSystem();
  #steps = 0;
  readonly #dieAtStep: number;

  constructor(dieAtStep: number) {
    this.#dieAtStep = dieAtStep;
  }

  get steps(): number {
    return this.#steps;
  }

  #step(): void {
    this.#steps++;
    if (this.#steps >= this.#dieAtStep) throw new SimulatedCrash(this.#steps, "disk step");
  }

  readFileSync(path: string): Uint8Array | null {
    return this.#inner.readFileSync(path);
  }
  makeDirectorySync(path: string): void {
    this.#step();
    this.#inner.makeDirectorySync(path);
  }
  writeFileSync(path: string, bytes: Uint8Array): void {
    this.#step();
    this.#inner.writeFileSync(path, bytes);
  }
  truncateSync(path: string, lengthBytes: number): void {
    this.#step();
    this.#inner.truncateSync(path, lengthBytes);
  }
  syncFileSync(path: string): void {
    this.#step();
    this.#inner.syncFileSync(path);
  }
  renameSync(from: string, to: string): void {
    this.#step();
    this.#inner.renameSync(from, to);
  }
  syncDirectorySync(path: string): void {
    this.#step();
    this.#inner.syncDirectorySync(path);
  }
  removeSync(path: string): void {
    this.#step();
    this.#inner.removeSync(path);
  }
  readFile(path: string): Promise<Uint8Array> {
    return this.#inner.readFile(path);
  }
  async writeFile(path: string, bytes: Uint8Array): Promise<void> {
    this.#step();
    await this.#inner.writeFile(path, bytes);
  }
  async appendFile(path: string, bytes: Uint8Array): Promise<void> {
    this.#step();
    await this.#inner.appendFile(path, bytes);
  }
  async syncFile(path: string): Promise<void> {
    this.#step();
    await this.#inner.syncFile(path);
  }
  async rename(from: string, to: string): Promise<void> {
    this.#step();
    await this.#inner.rename(from, to);
  }
  async syncDirectory(path: string): Promise<void> {
    this.#step();
    await this.#inner.syncDirectory(path);
  }
  close(): void {
    this.#inner.close();
  }
}

Deno.test("FileStorage on disk loses nothing acknowledged when the process dies at any step", async () => {
  const root = await Deno.makeTempDir({ prefix: "file_storage_test" });
  try {
    const requests = SCRIPT;
    const dryRun = new DyingFileSystem(Number.POSITIVE_INFINITY);
    const dryStorage = new FileStorage({ dir: `${root}/dry`, id: 0, files: dryRun });
    dryStorage.load();
    await persistAll(dryStorage, requests);
    dryStorage.close();
    for (let step = 1; step <= dryRun.steps; step++) {
      const dir = `${root}/step-${step}`;
      const dying = new DyingFileSystem(step);
      const { acknowledged, done } = await persistUntilCrash(
        () => new FileStorage({ dir, id: 0, files: dying }),
        requests,
      ).finally(() => dying.close());
      const allowed = partialStates(acknowledged, requests[done]);
      const storage = new FileStorage({ dir, id: 0, log: () => {} });
      const restored = modelOf(storage.load());
      storage.close();
      assert.ok(
        allowed.some((state) => isDeepStrictEqual(state, restored)),
        `Step ${step}: restored a state no prefix of the writes explains`,
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** Writes `files` (name to bytes) into `dir`, replacing what is there. */
function writeFolder(dir: string, files: ReadonlyMap<string, Uint8Array>): void {
  for (const entry of Deno.readDirSync(dir)) Deno.removeSync(`${dir}/${entry.name}`);
  for (const [name, bytes] of files) Deno.writeFileSync(`${dir}/${name}`, bytes);
}

function readFolder(dir: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const entry of Deno.readDirSync(dir)) {
    files.set(entry.name, Deno.readFileSync(`${dir}/${entry.name}`));
  }
  return files;
}

Deno.test("FileStorage drops a log cut at every byte of its last write, and only that write", async () => {
  const root = await Deno.makeTempDir({ prefix: "file_storage_test" });
  try {
    const source = `${root}/source`;
    const storage = new FileStorage({ dir: source, id: 0 });
    storage.load();
    const before = SCRIPT.slice(0, -1);
    await persistAll(storage, before);
    const startBytes = storage.logFileSize();
    await storage.persist(SCRIPT.at(-1) as PersistRequest);
    const endBytes = storage.logFileSize();
    storage.close();
    const original = readFolder(source);
    const logBytes = original.get(LOG_FILE) as Uint8Array;
    assert.equal(logBytes.byteLength, endBytes);
    const dir = `${root}/cut`;
    Deno.mkdirSync(dir);
    for (let cut = startBytes; cut < endBytes; cut++) {
      writeFolder(dir, new Map([...original, [LOG_FILE, logBytes.slice(0, cut)]]));
      const lines: string[] = [];
      const reopened = new FileStorage({ dir, id: 0, log: (line) => lines.push(line) });
      assert.deepEqual(modelOf(reopened.load()), modelAfter(before), `cut at ${cut}`);
      if (cut === startBytes) {
        assert.deepEqual(lines, []);
      } else {
        assert.equal(lines.length, 1, `cut at ${cut}`);
        assert.match(lines[0], new RegExp(`raft-log: dropped a torn write at byte ${startBytes} `));
      }
      assert.equal(Deno.statSync(`${dir}/${LOG_FILE}`).size, startBytes);
      // The lost write, made again, lands where the torn one was.
      await reopened.persist(SCRIPT.at(-1) as PersistRequest);
      reopened.close();
      const again = new FileStorage({ dir, id: 0 });
      assert.deepEqual(modelOf(again.load()), modelAfter(SCRIPT), `cut at ${cut}`);
      again.close();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("FileStorage drops zeros at the end of its log, left by a write that never landed", () => {
  const files = new CrashFileSystem();
  const storage = openMemory(files);
  storage.load();
  storage.close();
  const log = `${MEMORY_DIR}/${LOG_FILE}`;
  const header = files.peek(log) as Uint8Array;
  files.damage(log, Uint8Array.from([...header, ...new Uint8Array(100)]));
  const lines: string[] = [];
  const reopened = openMemory(files, lines);
  assert.deepEqual(modelOf(reopened.load()), EMPTY_STATE);
  reopened.close();
  assert.equal(lines.length, 1);
  assert.match(lines[0], /dropped a torn write .*zeros/);
  assert.deepEqual(files.peek(log), header);
});

Deno.test("FileStorage refuses to start when any bit of any of its files is flipped", async () => {
  const root = await Deno.makeTempDir({ prefix: "file_storage_test" });
  try {
    const dir = `${root}/peer`;
    const storage = new FileStorage({ dir, id: 0 });
    storage.load();
    await persistAll(storage, SCRIPT);
    storage.close();
    const original = readFolder(dir);
    for (const name of [IDENTITY_FILE, STATE_FILE, SNAPSHOT_FILE, LOG_FILE]) {
      const bytes = original.get(name) as Uint8Array;
      for (let offset = 0; offset < bytes.byteLength; offset++) {
        const flipped = bytes.slice();
        flipped[offset] ^= 1 << (offset % 8);
        writeFolder(dir, new Map([...original, [name, flipped]]));
        const lines: string[] = [];
        assert.throws(
          () => new FileStorage({ dir, id: 0, log: (line) => lines.push(line) }),
          (error: Error) => error.message.startsWith(`Cannot start: ${dir}/${name} is corrupt`),
          `${name}, bit ${offset % 8} of byte ${offset}`,
        );
        assert.deepEqual(lines, []);
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("FileStorage names the byte and frame of a damaged record in the middle of the log", async () => {
  const files = new CrashFileSystem();
  const storage = openMemory(files, [], { minRewriteBytes: 1 << 20 });
  storage.load();
  const frameStarts: number[] = [];
  for (const request of SCRIPT) {
    frameStarts.push(storage.logFileSize());
    await storage.persist(request);
  }
  storage.close();
  const log = `${MEMORY_DIR}/${LOG_FILE}`;
  const bytes = files.peek(log) as Uint8Array;
  // SCRIPT[1] writes the log's first frame; damage a byte of its payload.
  const frameStart = frameStarts[1];
  bytes[frameStart + 20] ^= 0x10;
  files.damage(log, bytes);
  assert.throws(() => reload(files), {
    message: new RegExp(
      `^Cannot start: ${log} is corrupt at byte ${frameStart} \\(frame 1, \\d+ bytes before the end of the file\\): CRC mismatch`,
    ),
  });
});

Deno.test("FileStorage refuses a folder of another cluster or peer, and files copied from one", async () => {
  const files = new CrashFileSystem();
  for (const [dir, id] of [["/data/a1", 1], ["/data/a2", 2]] as const) {
    const storage = new FileStorage({ dir, id, clusterId: "alpha", files });
    storage.load();
    await storage.persist({ hardState: { term: id, votedFor: id } });
    storage.close();
  }
  assert.throws(() => new FileStorage({ dir: "/data/a1", id: 2, clusterId: "alpha", files }), {
    message:
      'Cannot start: /data/a1/raft-identity belongs to peer 1 of cluster "alpha", not to peer 2 of cluster "alpha"',
  });
  assert.throws(() => new FileStorage({ dir: "/data/a1", id: 1, clusterId: "beta", files }), {
    message:
      'Cannot start: /data/a1/raft-identity belongs to peer 1 of cluster "alpha", not to peer 1 of cluster "beta"',
  });
  assert.throws(() => new FileStorage({ dir: "/data/a1", id: 1, files }), {
    message: /belongs to peer 1 of cluster "alpha", not to peer 1 of cluster "dsys"/,
  });
  // Peer 2's hard state copied into peer 1's folder.
  files.damage("/data/a1/raft-state", files.peek("/data/a2/raft-state") as Uint8Array);
  assert.throws(() => new FileStorage({ dir: "/data/a1", id: 1, clusterId: "alpha", files }), {
    message:
      'Cannot start: /data/a1/raft-state belongs to peer 2 of cluster "alpha", not to peer 1 of cluster "alpha"',
  });
});

Deno.test("FileStorage records the peer list a folder is created with and refuses another", async () => {
  const files = new CrashFileSystem();
  const peers = ["127.0.0.1:7100", "127.0.0.1:7101", "127.0.0.1:7102"];
  const first = openMemory(files, [], { peers });
  first.load();
  await first.persist({ hardState: { term: 3, votedFor: 1 } });
  first.close();
  assert.equal(reload(files, { peers }).hardState?.term, 3, "the same list opens");
  const refusal = (given: string) =>
    `Cannot start: ${MEMORY_DIR} belongs to a cluster of peers ${
      peers.join(",")
    }, not ${given} (a peer list only sets up a new cluster)`;
  // A peer restarted alone with its own address: the split brain this guards against.
  assert.throws(() => openMemory(files, [], { peers: ["127.0.0.1:7100", "127.0.0.1:7101"] }), {
    message: refusal("127.0.0.1:7100,127.0.0.1:7101"),
  });
  const reordered = [peers[1], peers[0], peers[2]];
  assert.throws(() => openMemory(files, [], { peers: reordered }), {
    message: refusal(reordered.join(",")),
  });
  assert.equal(reload(files).hardState?.term, 3, "without a list, nothing is checked");
});

Deno.test("FileStorage tells a folder that joined a running cluster from one bootstrapped with peers", () => {
  const files = new CrashFileSystem();
  openMemory(files, [], { peers: [] }).close();
  assert.deepEqual(reload(files, { peers: [] }), { entries: [] }, "a joined folder opens again");
  assert.throws(() => openMemory(files, [], { peers: ["127.0.0.1:7100", "127.0.0.1:7101"] }), {
    message:
      `Cannot start: ${MEMORY_DIR} belongs to a peer that joined a running cluster (no peer list), not one that bootstrapped with peers 127.0.0.1:7100,127.0.0.1:7101`,
  });
});

Deno.test("FileStorage keeps the membership a snapshot records across a restart", async () => {
  const files = new CrashFileSystem();
  const storage = openMemory(files);
  storage.load();
  const membership = { voters: [0, 2], learners: [5], addresses: { "5": "127.0.0.1:7105" } };
  const snapshot = { index: 3, term: 1, data: Uint8Array.of(7), membership };
  await storage.persist({ hardState: { term: 1, votedFor: 0 }, snapshot });
  storage.close();
  assert.deepEqual(reload(files).snapshot, snapshot);
});

Deno.test("FileStorage opens a folder made before peer lists were recorded, saying so", () => {
  const files = new CrashFileSystem();
  openMemory(files).close();
  const lines: string[] = [];
  openMemory(files, lines, { peers: ["127.0.0.1:7100", "127.0.0.1:7101"] }).close();
  assert.deepEqual(lines, [
    `${MEMORY_DIR}/raft-identity records no peer list (made by an older dsys): not checked`,
  ]);
});

Deno.test("FileStorage refuses files that disagree with each other", async () => {
  const files = new CrashFileSystem();
  const storage = openMemory(files);
  storage.load();
  await persistAll(storage, SCRIPT.slice(0, 4));
  storage.close();
  const path = (name: string) => `${MEMORY_DIR}/${name}`;
  const saved = new Map([IDENTITY_FILE, STATE_FILE, SNAPSHOT_FILE, LOG_FILE].map((name) => [
    name,
    files.peek(path(name)) as Uint8Array,
  ]));
  const without = (name: string): CrashFileSystem => {
    const copy = files.afterCrash("process");
    copy.removeSync(path(name));
    return copy;
  };
  assert.throws(() => reload(without(IDENTITY_FILE)), {
    message: `Cannot start: ${path(IDENTITY_FILE)} is missing but ${path(STATE_FILE)} exists`,
  });
  assert.throws(() => reload(without(LOG_FILE)), {
    message: `Cannot start: ${path(LOG_FILE)} is missing but ${MEMORY_DIR} holds Raft state`,
  });
  assert.throws(() => reload(without(STATE_FILE)), {
    message: `Cannot start: ${
      path(STATE_FILE)
    } holds term 0 but ${MEMORY_DIR} holds entries of term 2`,
  });
  // The log was told of snapshot 4, whose file is gone.
  assert.throws(() => reload(without(SNAPSHOT_FILE)), {
    message: `Cannot start: ${
      path(LOG_FILE)
    } was compacted up to entry 4 but the snapshot in ${MEMORY_DIR} covers only up to 0`,
  });
  assert.equal(saved.size, 4);
});

Deno.test("FileStorage refuses to persist after a failed persist, during a persist and after close", async () => {
  const files = new CrashFileSystem();
  const storage = openMemory(files);
  storage.load();
  files.crashBeforeStep(files.steps + 1);
  await assert.rejects(storage.persist(SCRIPT[0]), SimulatedCrash);
  await assert.rejects(storage.persist(SCRIPT[0]), /an earlier persist failed/);
  const busy = openMemory(new CrashFileSystem());
  busy.load();
  const first = busy.persist(SCRIPT[0]);
  await assert.rejects(busy.persist(SCRIPT[1]), /another persist is running/);
  await first;
  const other = openMemory(new CrashFileSystem());
  other.close();
  await assert.rejects(other.persist(SCRIPT[0]), /the storage is closed/);
  assert.throws(() => storage.load(), /twice/);
});

Deno.test("FileStorage refuses an entry larger than a log frame", async () => {
  const storage = openMemory(new CrashFileSystem(), [], { maxFrameBytes: 1024 });
  storage.load();
  await storage.persist({ hardState: { term: 1, votedFor: 1 } });
  const big = { index: 1, term: 1, command: "x".repeat(2000) };
  await assert.rejects(
    storage.persist({ logChange: { append: [big] } }),
    /a frame holds at most 1024/,
  );
  storage.close();
});

Deno.test("FileStorage splits a persist larger than a frame into frames that all come back", async () => {
  const files = new CrashFileSystem();
  const storage = openMemory(files, [], { maxFrameBytes: 256 });
  storage.load();
  const requests: PersistRequest[] = [
    { hardState: { term: 1, votedFor: 1 } },
    { logChange: { append: entries(1, 60, 1) } },
  ];
  await persistAll(storage, requests);
  storage.close();
  assert.deepEqual(reload(files, { maxFrameBytes: 256 }), modelAfter(requests));
});
