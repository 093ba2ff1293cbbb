import assert from "node:assert/strict";
import { serveVanishingCoordinator } from "../mr/testing/vanishing_coordinator.ts";
import { joinPath } from "../mr/job_files.ts";
import { withTempFolder } from "../mr/testing/temp_folder.ts";
import { ChildGroup } from "../util/child_process.ts";

Deno.test("dsys worker exits 1 naming the coordinator it lost before the job was done, and 0 when none ever answered", async () => {
  await withTempFolder("dsys-worker-", async (folder) => {
    const address = `unix:${joinPath(folder, "mr.sock")}`;
    const { server, firstAsk } = await serveVanishingCoordinator(address);
    const group = new ChildGroup();
    try {
      const lost = group.spawn(["worker", "--coordinator", address, "wc"], { cwd: folder });
      await firstAsk;
      await server.close();
      const nobody = `unix:${joinPath(folder, "nobody.sock")}`;
      const lonely = group.spawn(["worker", "--coordinator", nobody, "wc"], { cwd: folder });
      const [lostExit, lonelyExit] = await Promise.all([lost.exited, lonely.exited]);
      assert.equal(lostExit.code, 1, lostExit.output);
      assert.match(
        lostExit.output.trimEnd().split("\n").at(-1) ?? "",
        /^dsys: Lost the coordinator at unix:\/.*\/mr\.sock before the job was done: no answer for \d+\.\d s$/,
      );
      assert.equal(lonelyExit.code, 0, lonelyExit.output);
      assert.match(
        lonelyExit.output,
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}worker \d+: No coordinator answered at unix:\/.*\/nobody\.sock for \d+\.\d s: no job to work for\n$/,
      );
    } finally {
      await group.killAll();
      await server.close();
    }
  });
});
