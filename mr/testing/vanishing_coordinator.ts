/**
 * A stand-in coordinator that answers a worker's first request with "wait" and is then closed
 * by the test: a coordinator lost before the job was done, as the worker sees it.
 *
 * @module
 */
import { type RpcServer, serve } from "../../rpc/mod.ts";
import { REQUEST_TASK_METHOD } from "../protocol.ts";

/** Serves at `address`; `firstAsk` settles once a worker asked for a task. */
export async function serveVanishingCoordinator(
  address: string,
): Promise<{ server: RpcServer; firstAsk: Promise<void> }> {
  let asked!: () => void;
  const firstAsk = new Promise<void>((resolve) => asked = resolve);
  const server = await serve(address, {
    [REQUEST_TASK_METHOD]: () => {
      asked();
      return { kind: "wait", retryMs: 10 };
    },
  }, { log: () => {} });
  return { server, firstAsk };
}
