import assert from "node:assert/strict";
import { Command } from "@commander-js/extra-typings";
import { addEndpointOptions, ENDPOINTS_ENV, endpointsOf, parseEndpoints } from "./endpoints.ts";

Deno.test("parseEndpoints splits the list and refuses bad addresses, naming the source", () => {
  assert.deepEqual(parseEndpoints("127.0.0.1:1, :2,unix:/tmp/s"), [
    "127.0.0.1:1",
    ":2",
    "unix:/tmp/s",
  ]);
  assert.throws(() => parseEndpoints(","), /^Error: --endpoints lists no address/);
  assert.throws(() => parseEndpoints(",", ENDPOINTS_ENV), /^Error: DSYS_ENDPOINTS lists no/);
  assert.throws(() => parseEndpoints("127.0.0.1:1,nohost"), /Bad address "nohost"/);
});

/** The endpoints a command parsing `args` with `env` as DSYS_ENDPOINTS ends up with. */
function endpointsFrom(args: string[], env: string | undefined): string[] {
  const before = Deno.env.get(ENDPOINTS_ENV);
  if (env === undefined) Deno.env.delete(ENDPOINTS_ENV);
  else Deno.env.set(ENDPOINTS_ENV, env);
  try {
    const command = new Command("x").exitOverride();
    addEndpointOptions(command, "the nodes");
    command.parse(args, { from: "user" });
    return endpointsOf(command);
  } finally {
    if (before === undefined) Deno.env.delete(ENDPOINTS_ENV);
    else Deno.env.set(ENDPOINTS_ENV, before);
  }
}

Deno.test("--endpoints, then the hidden --servers, then DSYS_ENDPOINTS", () => {
  assert.deepEqual(endpointsFrom(["--endpoints", ":1"], ":9"), [":1"]);
  assert.deepEqual(endpointsFrom(["--servers", ":2"], ":9"), [":2"]);
  assert.deepEqual(endpointsFrom([], ":9,:8"), [":9", ":8"]);
  assert.throws(() => endpointsFrom([], undefined), /No endpoints: give --endpoints/);
});
