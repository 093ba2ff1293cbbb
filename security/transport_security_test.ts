import assert from "node:assert/strict";
import { equalInConstantTime } from "./handshake.ts";
import { securityFromOptions } from "./security_options.ts";
import { loadTransportSecurity } from "./transport_security.ts";

const dir = await Deno.makeTempDir({ prefix: "dsys-security-files-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";
await Deno.writeTextFile(`${dir}/cert.pem`, PEM_CERT);
await Deno.writeTextFile(`${dir}/key.pem`, PEM_KEY);
await Deno.writeTextFile(`${dir}/secret`, "0123456789abcdef0123\n");
await Deno.writeTextFile(`${dir}/short`, "too short\n");

Deno.test("a secret file's trailing newline is not part of the secret", async () => {
  const { secret, tls } = await loadTransportSecurity({ secretFile: `${dir}/secret` });
  assert.deepEqual(secret, new TextEncoder().encode("0123456789abcdef0123"));
  assert.equal(tls, undefined);
});

Deno.test("each file problem is named with its flag and path", async () => {
  await assert.rejects(
    loadTransportSecurity({ secretFile: `${dir}/short` }),
    new RegExp(`^Error: Cannot use --secret-file ${dir}/short: it holds 9 bytes, fewer than 16`),
  );
  await assert.rejects(
    loadTransportSecurity({ ca: `${dir}/missing.pem` }),
    new RegExp(`Cannot read --ca ${dir}/missing.pem: `),
  );
  await assert.rejects(
    loadTransportSecurity({ cert: `${dir}/key.pem`, key: `${dir}/key.pem` }),
    new RegExp(`Cannot use --cert ${dir}/key.pem: it holds no PEM certificate`),
  );
  await assert.rejects(
    loadTransportSecurity({ cert: `${dir}/cert.pem` }),
    /Cannot use TLS: --cert is given without --key; a server needs both/,
  );
  await assert.rejects(
    loadTransportSecurity({ ca: dir }),
    new RegExp(`Cannot read --ca ${dir}: it is not a file`),
  );
});

Deno.test("a peer with TLS needs its certificate, key and CA together", async () => {
  assert.equal(await securityFromOptions({}, "peer"), undefined);
  assert.equal(await securityFromOptions({ secretFile: "", ca: "" }, "client"), undefined);
  await assert.rejects(
    securityFromOptions({ cert: `${dir}/cert.pem`, key: `${dir}/key.pem` }, "peer"),
    /Cannot run a peer with TLS: give --ca too/,
  );
  const peer = await securityFromOptions(
    { cert: `${dir}/cert.pem`, key: `${dir}/key.pem`, ca: `${dir}/cert.pem` },
    "peer",
  );
  assert.equal(peer?.tls?.keyPem, PEM_KEY);
  const client = await securityFromOptions({ ca: `${dir}/cert.pem` }, "client");
  assert.deepEqual(client, { tls: { certPem: undefined, keyPem: undefined, caPem: PEM_CERT } });
});

Deno.test("proofs are equal only when every byte is", () => {
  assert.ok(equalInConstantTime(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])));
  assert.ok(!equalInConstantTime(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4])));
  assert.ok(!equalInConstantTime(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2])));
});
