/**
 * Throwaway TLS material for test clusters, made with the `openssl` command the README shows: a
 * certificate authority, a server certificate it signs for 127.0.0.1 and localhost (every node of
 * a test cluster presents the same one), a client certificate, and a random cluster secret.
 *
 * @module
 */
import { errorText } from "../util/error_text.ts";
import type { SecurityFiles } from "./transport_security.ts";

/** The files {@linkcode makeTestCertificates} writes, by role. */
export interface TestCertificates extends Required<SecurityFiles> {
  /** A client certificate and key signed by the same CA (Deno's servers cannot check them). */
  readonly clientCert: string;
  readonly clientKey: string;
  /** A second CA that signed nothing here: trusting it instead of `ca` must fail. */
  readonly otherCa: string;
  /** A secret file of another cluster. */
  readonly otherSecretFile: string;
}

/** Days the certificates are valid: long enough for any test run. */
const VALID_DAYS = 2;

/** Writes a CA, certificates and secrets into `dir` (which must exist) with openssl. */
export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  const files = {
    ca: `${dir}/ca.pem`,
    cert: `${dir}/server.pem`,
    key: `${dir}/server.key`,
    secretFile: `${dir}/secret`,
    clientCert: `${dir}/client.pem`,
    clientKey: `${dir}/client.key`,
    otherCa: `${dir}/other-ca.pem`,
    otherSecretFile: `${dir}/other-secret`,
  };
  await selfSignedCa(dir, files.ca, `${dir}/ca.key`, "dsys test CA");
  await selfSignedCa(dir, files.otherCa, `${dir}/other-ca.key`, "dsys other CA");
  await signed(dir, files.cert, files.key, "localhost", "IP:127.0.0.1,DNS:localhost");
  await signed(dir, files.clientCert, files.clientKey, "dsys client", "DNS:client");
  await openssl(dir, ["rand", "-hex", "-out", files.secretFile, "32"]);
  await openssl(dir, ["rand", "-hex", "-out", files.otherSecretFile, "32"]);
  return files;
}

async function selfSignedCa(dir: string, cert: string, key: string, name: string): Promise<void> {
  await openssl(dir, [
    "req",
    "-x509",
    ...newKey(key),
    "-out",
    cert,
    "-days",
    `${VALID_DAYS}`,
    "-subj",
    `/CN=${name}`,
  ]);
}

/** A certificate for `name` with subject alternative names `altNames`, signed by `dir`'s CA. */
async function signed(
  dir: string,
  cert: string,
  key: string,
  name: string,
  altNames: string,
): Promise<void> {
  const request = `${cert}.csr`;
  const extensions = `${cert}.ext`;
  await openssl(dir, ["req", ...newKey(key), "-out", request, "-subj", `/CN=${name}`]);
  await Deno.writeTextFile(extensions, `subjectAltName=${altNames}\n`);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    request,
    "-CA",
    `${dir}/ca.pem`,
    "-CAkey",
    `${dir}/ca.key`,
    "-CAcreateserial",
    "-out",
    cert,
    "-days",
    `${VALID_DAYS}`,
    "-extfile",
    extensions,
  ]);
}

/** The arguments of `openssl req` that make a new P-256 key, unencrypted, into `key`. */
function newKey(key: string): string[] {
  return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key];
}

async function openssl(cwd: string, args: readonly string[]): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("openssl", { args: [...args], cwd, stdin: "null" }).output();
  } catch (error) {
    throw new Error(`Cannot run openssl ${args[0]}: ${errorText(error)}`);
  }
  if (!output.success) {
    const message = new TextDecoder().decode(output.stderr).trim().split("\n").at(-1);
    throw new Error(`openssl ${args[0]} failed with code ${output.code}: ${message}`);
  }
}
