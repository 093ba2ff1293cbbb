/**
 * Network addresses as the command line writes them: `host:port`, `:port` (meaning 127.0.0.1) or
 * `unix:/path/to/socket`.
 *
 * @module
 */

/** Where a server listens or a client connects: a TCP host and port, or a Unix socket path. */
export type Address =
  | { kind: "tcp"; hostname: string; port: number }
  | { kind: "unix"; path: string };

const UNIX_PREFIX = "unix:";
const HIGHEST_PORT = 65535;

/**
 * Parses `host:port`, `:port` (host 127.0.0.1), `[ipv6]:port` or `unix:/path`. Throws an
 * `Error` naming the text when it is none of these.
 *
 * @example
 * ```ts
 * parseAddress("127.0.0.1:4000"); // { kind: "tcp", hostname: "127.0.0.1", port: 4000 }
 * parseAddress("unix:/tmp/kv-0.sock"); // { kind: "unix", path: "/tmp/kv-0.sock" }
 * ```
 */
export function parseAddress(text: string): Address {
  const bad = () =>
    new Error(`Bad address ${JSON.stringify(text)}: expected host:port or unix:/path`);
  if (text.startsWith(UNIX_PREFIX)) {
    const path = text.slice(UNIX_PREFIX.length);
    if (path.length === 0 || /[\0\s]/.test(path)) throw bad();
    return { kind: "unix", path };
  }
  const colon = text.lastIndexOf(":");
  if (colon < 0) throw bad();
  let hostname = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (!/^[0-9]{1,5}$/.test(portText)) throw bad();
  const port = Number(portText);
  if (port > HIGHEST_PORT) throw bad();
  if (hostname.startsWith("[") && hostname.endsWith("]")) {
    hostname = hostname.slice(1, -1);
    if (!/^[0-9a-fA-F:.]+$/.test(hostname) || !hostname.includes(":")) throw bad();
  } else if (hostname.length === 0) {
    hostname = "127.0.0.1";
  } else if (!/^[A-Za-z0-9._-]+$/.test(hostname)) {
    // Brackets are required around IPv6 hosts, so a bare colon here means a typo.
    throw bad();
  }
  return { kind: "tcp", hostname, port };
}

/** Writes `address` the way {@linkcode parseAddress} reads it. */
export function formatAddress(address: Address): string {
  if (address.kind === "unix") return `${UNIX_PREFIX}${address.path}`;
  const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
  return `${host}:${address.port}`;
}

/** Accepts either form callers hold, so every entry point can take text from the command line. */
export function toAddress(address: Address | string): Address {
  return typeof address === "string" ? parseAddress(address) : address;
}
