/**
 * How the timing applications see each other: every call leaves a marker file
 * `mr-worker-<phase>-<pid>` in the current folder for one second, and counts the markers whose
 * process is alive — so two workers running the same phase at once each count two.
 *
 * @module
 */

const PROBE_DURATION_MS = 1000;
/** More markers than any test has workers; a folder beyond this is not one we made. */
const MAX_MARKER_FILES = 100_000;

/** Whether a process with id `pid` exists (the lab's `kill(pid, 0)`). */
export async function isProcessAlive(pid: number): Promise<boolean> {
  if (Deno.build.os === "linux") {
    try {
      await Deno.stat(`/proc/${pid}`);
      return true;
    } catch {
      return false;
    }
  }
  // Elsewhere `kill -0` asks the same question without sending a signal.
  const probe = new Deno.Command("kill", { args: ["-0", String(pid)], stderr: "null" });
  return (await probe.output()).success;
}

/**
 * Leaves this process's marker for `phase`, counts the live processes with a marker (this one
 * included), holds the marker for one second so that others can see it, and returns the count.
 */
export async function countParallel(phase: "map" | "reduce"): Promise<number> {
  const prefix = `mr-worker-${phase}-`;
  const markerName = `${prefix}${Deno.pid}`;
  await Deno.writeTextFile(markerName, "x");
  let live = 0;
  let seen = 0;
  for await (const entry of Deno.readDir(".")) {
    seen++;
    if (seen > MAX_MARKER_FILES) {
      throw new Error(`Cannot count markers: over ${MAX_MARKER_FILES} files here`);
    }
    if (!entry.name.startsWith(prefix)) continue;
    const pidText = entry.name.slice(prefix.length);
    if (!/^[0-9]+$/.test(pidText)) continue;
    if (await isProcessAlive(Number(pidText))) live++;
  }
  await new Promise((resolve) => setTimeout(resolve, PROBE_DURATION_MS));
  await Deno.remove(markerName);
  return live;
}
