/**
 * The one way every client command names the cluster: `--endpoints` (comma-separated
 * `host:port` or `unix:/path`), else the `DSYS_ENDPOINTS` environment variable, as etcdctl has
 * `--endpoints` and `ETCDCTL_ENDPOINTS`. The older `--servers` stays as a hidden alias so that
 * existing scripts keep working.
 *
 * @module
 */
import { type CommandUnknownOpts, Option } from "@commander-js/extra-typings";
import { parseAddress } from "../rpc/address.ts";

/** The environment variable that lists the endpoints when `--endpoints` is not given. */
export const ENDPOINTS_ENV = "DSYS_ENDPOINTS";
/** Most endpoints one command takes (a cluster has at most a few dozen members). */
export const ENDPOINTS_MAX = 64;

/** What {@linkcode addEndpointOptions} adds, as commander gives it back. */
interface EndpointValues {
  readonly endpoints?: string;
  readonly servers?: string;
}

/** Adds `--endpoints` (with `DSYS_ENDPOINTS`) and the hidden alias `--servers` to `command`. */
export function addEndpointOptions(command: CommandUnknownOpts, description: string): void {
  command.addOption(
    new Option("--endpoints <addresses>", `${description}, comma-separated`).env(ENDPOINTS_ENV),
  );
  command.addOption(new Option("--servers <addresses>", "alias of --endpoints").hideHelp());
}

/**
 * The endpoints `command` was given: `--endpoints` or `--servers` on the command line first,
 * then `DSYS_ENDPOINTS`; throws a one-line error when there are none or one is not an address.
 */
export function endpointsOf(command: CommandUnknownOpts): string[] {
  const values = command.opts() as EndpointValues;
  const fromEnv = command.getOptionValueSource("endpoints") === "env";
  const text = fromEnv ? values.servers ?? values.endpoints : values.endpoints ?? values.servers;
  if (text === undefined) {
    throw new Error(
      `No endpoints: give --endpoints host:port,… or set ${ENDPOINTS_ENV}`,
    );
  }
  return parseEndpoints(
    text,
    fromEnv && values.servers === undefined ? ENDPOINTS_ENV : "--endpoints",
  );
}

/** Parses a comma-separated list of addresses named `source` in errors; throws naming a bad one. */
export function parseEndpoints(text: string, source = "--endpoints"): string[] {
  const endpoints = text.split(",").map((part) => part.trim()).filter((part) => part !== "");
  if (endpoints.length === 0) {
    throw new Error(`${source} lists no address: ${JSON.stringify(text)}`);
  }
  if (endpoints.length > ENDPOINTS_MAX) {
    throw new Error(
      `${source} lists ${endpoints.length} addresses; at most ${ENDPOINTS_MAX} are allowed`,
    );
  }
  for (const endpoint of endpoints) parseAddress(endpoint);
  return endpoints;
}
