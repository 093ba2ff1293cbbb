/**
 * The RPC layer every dsys component uses: MessagePack in length-prefixed frames, over TCP or a
 * Unix socket, with request ids, per-call timeouts, reconnect with backoff and a frame-size bound.
 *
 * @example
 * ```ts
 * import { connect, serve } from "./mod.ts";
 *
 * const server = await serve("127.0.0.1:0", { "Math.Add": (args) => (args as number[])[0] + (args as number[])[1] });
 * const client = connect(server.address);
 * console.log(await client.call("Math.Add", [2, 3])); // 5
 * client.close();
 * await server.close();
 * ```
 *
 * @module
 */
export * from "./codec.ts";
export * from "./types.ts";
export * from "./address.ts";
export * from "./tcp_server.ts";
export * from "./tcp_client.ts";
export type { TlsMaterial, TransportSecurity } from "../security/transport_security.ts";
