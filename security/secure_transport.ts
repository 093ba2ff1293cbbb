/**
 * Sockets as {@linkcode TransportSecurity} asks: a TLS listener or a plain one, and connections
 * whose TLS and cluster-secret handshakes are done before the RPC layer sees them. The RPC server
 * and client call these; nothing here knows about RPC frames beyond the handshake's.
 *
 * Deno's TLS listener cannot ask clients for a certificate, so TLS here authenticates servers
 * only; clients prove themselves with the cluster secret.
 *
 * Deno 2.9 leaves the socket of a TLS connection open when it is closed before its handshake
 * finished, until the client leaves: a client silent in the TLS handshake is refused (one log
 * line, no longer counted) after the timeout, but its socket is only released when it hangs up.
 *
 * @module
 */
import type { Address } from "../rpc/address.ts";
import { errorText } from "../util/error_text.ts";
import { type Admission, admitClient, AuthenticationError, proveSecret } from "./handshake.ts";
import type { TransportSecurity } from "./transport_security.ts";

/** How long the TLS and secret handshakes of one connection may take unless told otherwise. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;

/** Whether a server with `security` listens with TLS. */
export function servesTls(security: TransportSecurity | undefined): boolean {
  return security?.tls?.certPem !== undefined;
}

/** Listens on TCP `address` with the TLS certificate and key of `security`. */
export function listenTls(
  address: Extract<Address, { kind: "tcp" }>,
  security: TransportSecurity,
): Deno.Listener {
  const tls = security.tls;
  if (tls?.certPem === undefined || tls.keyPem === undefined) {
    throw new Error(`Cannot listen with TLS on port ${address.port}: --cert and --key are needed`);
  }
  try {
    return Deno.listenTls({
      transport: "tcp",
      hostname: address.hostname,
      port: address.port,
      cert: tls.certPem,
      key: tls.keyPem,
    });
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) throw error;
    throw new Error(
      `Cannot listen with TLS on ${address.hostname}:${address.port}: ${errorText(error)} ` +
        `(do --cert and --key belong together?)`,
    );
  }
}

/** Refuses TLS on a Unix socket: Deno cannot, and a local socket needs no encryption. */
export function assertNoUnixTls(address: Address, security: TransportSecurity | undefined): void {
  if (address.kind === "unix" && security?.tls !== undefined) {
    throw new Error(
      `Cannot use TLS on unix:${address.path}: TLS needs a TCP address (the cluster secret works on both)`,
    );
  }
}

/**
 * The server's side of a new connection: finishes its TLS handshake (on a TLS listener) and the
 * secret handshake (when `security` has a secret), within the handshake timeout.
 */
export async function admitConnection(
  conn: Deno.Conn,
  security: TransportSecurity | undefined,
): Promise<Admission> {
  const timeoutMs = security?.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  if (isTlsConn(conn)) {
    const problem = await withinDeadline(conn.handshake(), timeoutMs);
    if (problem !== null) {
      // A probe that connects and hangs up (a readiness check) is not worth a line.
      const quiet = /end of file|eof|reset|closed|broken pipe/i.test(problem);
      return { ok: false, reason: `TLS handshake failed: ${problem}`, quiet };
    }
  }
  if (security?.secret === undefined) return { ok: true };
  return await admitClient(conn, security.secret, timeoutMs);
}

/**
 * The client's side: connects to TCP or Unix `address` (TLS when `security` has a CA) and proves
 * the secret. Throws {@linkcode AuthenticationError} when TLS or the secret fails, and what
 * `Deno.connect` throws when the server cannot be reached.
 */
export async function dialSecurely(
  address: Address,
  security: TransportSecurity | undefined,
  signal: AbortSignal,
): Promise<Deno.Conn> {
  assertNoUnixTls(address, security);
  const timeoutMs = security?.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const caPem = security?.tls?.caPem;
  const conn = address.kind === "unix"
    ? await Deno.connect({ transport: "unix", path: address.path })
    : caPem !== undefined
    ? await Deno.connectTls({ hostname: address.hostname, port: address.port, caCerts: [caPem] })
    : await Deno.connect({
      transport: "tcp",
      hostname: address.hostname,
      port: address.port,
      signal,
    });
  try {
    if (isTlsConn(conn)) {
      const problem = await withinDeadline(conn.handshake(), timeoutMs);
      if (problem !== null) {
        throw new AuthenticationError(
          `TLS handshake failed: ${problem} (does the server use TLS with a certificate --ca signed?)`,
        );
      }
    }
    if (security?.secret !== undefined) await proveSecret(conn, security.secret, timeoutMs);
    return conn;
  } catch (error) {
    conn.close();
    throw error;
  }
}

function isTlsConn(conn: Deno.Conn): conn is Deno.TlsConn {
  return typeof (conn as Partial<Deno.TlsConn>).handshake === "function";
}

/** Null when `work` settles in time; else what went wrong, in words. */
async function withinDeadline(work: Promise<unknown>, timeoutMs: number): Promise<string | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no handshake within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([work.then(() => null, (error) => errorText(error)), late]);
  } finally {
    clearTimeout(timer);
  }
}
