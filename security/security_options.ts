/**
 * The command-line options that secure connections, in one place for every subcommand: `--cert`,
 * `--key`, `--ca` and `--secret-file`, each also read from an environment variable, so that a
 * cluster's settings can be exported once for servers and clients alike.
 *
 * @module
 */
import { type Command, Option, type OptionValues } from "@commander-js/extra-typings";
import {
  loadTransportSecurity,
  type SecurityFiles,
  type TransportSecurity,
} from "./transport_security.ts";

/** The environment variables the options fall back on, by option. */
export const SECURITY_ENV = {
  cert: "DSYS_CERT",
  key: "DSYS_KEY",
  ca: "DSYS_CA",
  secretFile: "DSYS_SECRET_FILE",
} as const;

/** What the security options parse to. */
export interface SecurityOptionValues {
  readonly cert?: string;
  readonly key?: string;
  readonly ca?: string;
  readonly secretFile?: string;
}

/** Adds `--ca` and `--secret-file`: what a client needs to reach a secured cluster. */
export function withClientSecurityOptions<
  Args extends unknown[],
  Opts extends OptionValues,
  Globals extends OptionValues,
>(command: Command<Args, Opts, Globals>) {
  return command
    .addOption(
      new Option("--ca <file>", "connect with TLS, trusting servers this CA (PEM) signed")
        .env(SECURITY_ENV.ca),
    )
    .addOption(
      new Option("--secret-file <file>", "prove this cluster secret on every connection")
        .env(SECURITY_ENV.secretFile),
    );
}

/** Adds `--cert` and `--key` to the client's options: what a server (and peer) needs. */
export function withServerSecurityOptions<
  Args extends unknown[],
  Opts extends OptionValues,
  Globals extends OptionValues,
>(command: Command<Args, Opts, Globals>) {
  return withClientSecurityOptions(command)
    .addOption(
      new Option("--cert <file>", "listen with TLS, presenting this certificate (PEM)")
        .env(SECURITY_ENV.cert),
    )
    .addOption(
      new Option("--key <file>", "the private key (PEM) of --cert").env(SECURITY_ENV.key),
    );
}

/**
 * Loads what the options name; undefined when none is given (plain TCP). A peer both listens and
 * dials its peers, so with TLS it needs `--cert`, `--key` and `--ca` together (`peer`).
 */
export async function securityFromOptions(
  options: SecurityOptionValues,
  role: "client" | "peer",
): Promise<TransportSecurity | undefined> {
  // An empty variable (`DSYS_SECRET_FILE= dsys kv …`) means "not given", as in a shell.
  const given = (file: string | undefined) => file === "" ? undefined : file;
  const [cert, key, ca, secretFile] = [options.cert, options.key, options.ca, options.secretFile]
    .map(given);
  if ([cert, key, ca, secretFile].every((file) => file === undefined)) return undefined;
  if (role === "peer" && (cert !== undefined || ca !== undefined)) {
    const missing = Object.entries({ cert, key, ca }).filter(([, file]) => file === undefined)
      .map(([name]) => name);
    if (missing.length > 0) {
      throw new Error(
        `Cannot run a peer with TLS: give --${missing.join(" and --")} too (a peer listens ` +
          `with --cert and --key and dials the others trusting --ca)`,
      );
    }
  }
  return await loadTransportSecurity({ cert, key, ca, secretFile });
}

/**
 * The environment variables that give a child process of this program the options `files`
 * names, so that a test cluster's nodes and clients all run secured without new flags.
 */
export function securityEnv(files: SecurityFiles | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["cert", "key", "ca", "secretFile"] as const) {
    const file = files?.[name];
    if (file !== undefined) env[SECURITY_ENV[name]] = file;
  }
  return env;
}
