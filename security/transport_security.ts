/**
 * What secures a connection: TLS material (PEM text) and the cluster secret, loaded from the files
 * the command line names. Every error names the file and the flag it came from, so a typo in a
 * path reads as such and not as a TLS failure later.
 *
 * @module
 */

/** PEM text for TLS: a server needs `certPem` and `keyPem`, a client `caPem`. */
export interface TlsMaterial {
  /** The certificate chain this side presents, as a server. */
  readonly certPem?: string;
  /** The private key of `certPem`. */
  readonly keyPem?: string;
  /** The certificate authority that signed the servers' certificates, which clients trust. */
  readonly caPem?: string;
}

/** How one side of a connection secures it; empty: plain TCP, no secret (the default). */
export interface TransportSecurity {
  /** TLS: a server listens with `certPem`/`keyPem`, a client verifies servers with `caPem`. */
  readonly tls?: TlsMaterial;
  /** The cluster secret both sides prove on connect before any message (see handshake.ts). */
  readonly secret?: Uint8Array;
  /** How long a connection may take to finish the TLS and secret handshakes; default 5 s. */
  readonly handshakeTimeoutMs?: number;
}

/** The files the command line names (`--cert`, `--key`, `--ca`, `--secret-file`). */
export interface SecurityFiles {
  readonly cert?: string;
  readonly key?: string;
  readonly ca?: string;
  readonly secretFile?: string;
}

/** Fewest bytes a cluster secret may have: 128 bits, so guessing it is hopeless. */
export const SECRET_BYTES_MIN = 16;
/** Most bytes read from a secret file: a bound on what a wrong path could make us read. */
export const SECRET_BYTES_MAX = 4096;
/** Most bytes read from a PEM file (a long chain of certificates fits many times over). */
export const PEM_BYTES_MAX = 1024 * 1024;

/**
 * Reads the files `files` names. A server needs `--cert` and `--key` together; every file must
 * hold what its flag says (a PEM certificate, a PEM private key, a secret of at least
 * {@linkcode SECRET_BYTES_MIN} bytes). Throws an error naming the flag and the file otherwise.
 */
export async function loadTransportSecurity(files: SecurityFiles): Promise<TransportSecurity> {
  if ((files.cert === undefined) !== (files.key === undefined)) {
    const [given, missing] = files.cert === undefined ? ["--key", "--cert"] : ["--cert", "--key"];
    throw new Error(`Cannot use TLS: ${given} is given without ${missing}; a server needs both`);
  }
  const certPem = files.cert === undefined
    ? undefined
    : await readPem("--cert", files.cert, "CERTIFICATE");
  const keyPem = files.key === undefined
    ? undefined
    : await readPem("--key", files.key, "PRIVATE KEY");
  const caPem = files.ca === undefined ? undefined : await readPem("--ca", files.ca, "CERTIFICATE");
  const tls = certPem === undefined && caPem === undefined ? undefined : { certPem, keyPem, caPem };
  const secret = files.secretFile === undefined ? undefined : await readSecret(files.secretFile);
  return { ...(tls === undefined ? {} : { tls }), ...(secret === undefined ? {} : { secret }) };
}

/** Whether `security` asks for anything beyond plain TCP. */
export function isSecured(security: TransportSecurity | undefined): boolean {
  return security?.tls !== undefined || security?.secret !== undefined;
}

async function readBounded(flag: string, path: string, bytesMax: number): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new Error("it is not a file");
    if (info.size > bytesMax) throw new Error(`it holds ${info.size} bytes, over ${bytesMax}`);
    bytes = await Deno.readFile(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot read ${flag} ${path}: ${reason}`);
  }
  return bytes;
}

async function readPem(flag: string, path: string, label: string): Promise<string> {
  const text = new TextDecoder().decode(await readBounded(flag, path, PEM_BYTES_MAX));
  // A key may be "PRIVATE KEY", "RSA PRIVATE KEY" or "EC PRIVATE KEY"; all end in the label.
  if (!new RegExp(`-----BEGIN [A-Z ]*${label}-----`).test(text)) {
    throw new Error(`Cannot use ${flag} ${path}: it holds no PEM ${label.toLowerCase()}`);
  }
  return text;
}

/**
 * The secret file's bytes, without trailing white space, so that `openssl rand -hex 32 > file`
 * and an editor's final newline give the same secret.
 */
async function readSecret(path: string): Promise<Uint8Array> {
  const bytes = await readBounded("--secret-file", path, SECRET_BYTES_MAX);
  let end = bytes.length;
  // Bounded by the file's length, at most SECRET_BYTES_MAX.
  while (end > 0 && isWhiteSpace(bytes[end - 1])) end--;
  if (end < SECRET_BYTES_MIN) {
    throw new Error(
      `Cannot use --secret-file ${path}: it holds ${end} bytes, fewer than ${SECRET_BYTES_MIN} ` +
        `(make one with: openssl rand -hex 32 > ${path})`,
    );
  }
  return bytes.slice(0, end);
}

function isWhiteSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}
