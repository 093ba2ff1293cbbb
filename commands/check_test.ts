import assert from "node:assert/strict";
import {
  type CheckRequest,
  EXIT_BAD_INPUT,
  EXIT_ILLEGAL,
  EXIT_OK,
  EXIT_UNDECIDED,
  runCheck,
} from "./check.ts";

const MAIN_PATH = new URL("../main.ts", import.meta.url).pathname;

/** A `dsys kv shell` result line. */
function shellLine(
  clientId: number,
  op: string,
  text: string,
  callMs: number,
  returnMs: number,
): string {
  const isGet = op === "get";
  return JSON.stringify({
    op,
    key: "k",
    value: isGet ? "" : text,
    output: isGet ? text : "",
    ok: true,
    unknown: false,
    clientId,
    callMs,
    returnMs,
  });
}

/** EDN lines of one operation of `process`, invoked and completed with `type`. */
function ednOperation(process: number, f: string, type: string, invoked: string, done: string) {
  return [
    `{:process ${process}, :type :invoke, :f :${f}, :value ${invoked}}`,
    `{:process ${process}, :type :${type}, :f :${f}, :value ${done}}`,
  ].join("\n");
}

/** Runs `dsys check` with `args` in `cwd`; returns exit code and output. */
async function runDsys(args: string[], cwd: string) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN_PATH, "check", ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

async function withFolder(run: (folder: string) => Promise<void>): Promise<void> {
  const folder = await Deno.makeTempDir({ prefix: "dsys-check-" });
  try {
    await run(folder);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

/** Checks `files` (name → text) in-process; returns the exit code and printed lines. */
async function check(
  folder: string,
  files: Record<string, string>,
  options: Partial<CheckRequest> = {},
) {
  const paths: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${folder}/${name}`, text);
    paths.push(`${folder}/${name}`);
  }
  const lines: string[] = [];
  const code = await runCheck({
    files: paths,
    model: "kv",
    timeoutMs: 10_000,
    htmlPath: undefined,
    writeOut: "table",
    ...options,
  }, (line) => lines.push(line));
  return { code, lines };
}

Deno.test("dsys check merges kv shell files; a stale read is illegal and drawn beside them", async () => {
  await withFolder(async (folder) => {
    const first = [shellLine(1, "put", "a", 1, 2), shellLine(1, "append", "b", 3, 4)].join("\n");
    const ok = await check(folder, {
      "a.jsonl": first,
      "b.jsonl": shellLine(2, "get", "ab", 5, 6),
    });
    assert.equal(ok.code, EXIT_OK);
    assert.match(ok.lines.at(-1)!, /^ok: 3 operations on 1 key\(s\), kv model/);
    const stale = await check(folder, {
      "c.jsonl": first,
      "d.jsonl": shellLine(2, "get", "a", 5, 6),
    });
    assert.equal(stale.code, EXIT_ILLEGAL);
    assert.equal(stale.lines.at(-1), `picture: ${folder}/c.check.html`);
    assert.ok(stale.lines.some((line) => line.includes(`get("k") -> "a"`)));
    const html = await Deno.readTextFile(`${folder}/c.check.html`);
    assert.match(html, /Not linearizable on key\(s\) &quot;k&quot;/);
  });
});

Deno.test("dsys check classifies an EDN history for each model, ok and illegal", async () => {
  await withFolder(async (folder) => {
    const cases: [CheckRequest["model"], string, number][] = [
      [
        "kv",
        ednOperation(0, "append", "ok", '"x"', '"x"') + "\n" +
        ednOperation(1, "read", "ok", "nil", '"xx"'),
        EXIT_ILLEGAL,
      ],
      [
        "kv",
        ednOperation(0, "append", "ok", '"x"', '"x"') + "\n" +
        ednOperation(1, "read", "ok", "nil", '"x"'),
        EXIT_OK,
      ],
      [
        "register",
        ednOperation(0, "write", "ok", "1", "1") + "\n" +
        ednOperation(1, "write", "ok", "2", "2") + "\n" +
        ednOperation(2, "read", "ok", "nil", "1"),
        EXIT_ILLEGAL,
      ],
      [
        "register",
        ednOperation(0, "write", "info", "1", "1") + "\n" +
        ednOperation(2, "read", "ok", "nil", "1"),
        EXIT_OK,
      ],
      [
        "cas-register",
        ednOperation(0, "write", "ok", "1", "1") + "\n" +
        ednOperation(1, "write", "ok", "2", "2") + "\n" +
        ednOperation(2, "cas", "ok", "[1 3]", "[1 3]"),
        EXIT_ILLEGAL,
      ],
      [
        "cas-register",
        ednOperation(0, "write", "ok", "1", "1") + "\n" +
        ednOperation(1, "cas", "fail", "[2 3]", "[2 3]") + "\n" +
        ednOperation(2, "cas", "ok", "[1 3]", "[1 3]"),
        EXIT_OK,
      ],
      [
        "versioned-kv",
        ednOperation(0, "put", "ok", '["a" 0]', '["a" 0]') + "\n" +
        ednOperation(1, "put", "ok", '["b" 0]', '["b" 0]'),
        EXIT_ILLEGAL,
      ],
      [
        "versioned-kv",
        ednOperation(0, "put", "ok", '["a" 0]', '["a" 0]') + "\n" +
        ednOperation(1, "get", "ok", "nil", '["a" 1]'),
        EXIT_OK,
      ],
    ];
    for (const [position, [model, text, expected]] of cases.entries()) {
      const result = await check(folder, { [`h${position}.edn`]: text }, { model });
      assert.equal(result.code, expected, `${model}: ${text}`);
    }
  });
});

Deno.test("dsys check classifies JSON lines for the register and versioned models", async () => {
  await withFolder(async (folder) => {
    const line = (fields: Record<string, unknown>) =>
      JSON.stringify({ key: "k", ok: true, clientId: 1, callMs: 1, returnMs: 2, ...fields });
    const cas = [
      line({ op: "write", value: "1" }),
      line({ op: "cas", expected: "1", value: "2", callMs: 3, returnMs: 4 }),
      line({ op: "read", output: "2", callMs: 5, returnMs: 6 }),
    ];
    const okCas = await check(folder, { "c.jsonl": cas.join("\n") }, { model: "cas-register" });
    assert.equal(okCas.code, EXIT_OK);
    const lostCas = [
      ...cas,
      line({ op: "cas", expected: "1", value: "3", callMs: 7, returnMs: 8 }),
    ];
    const illegal = await check(folder, { "d.jsonl": lostCas.join("\n") }, {
      model: "cas-register",
    });
    assert.equal(illegal.code, EXIT_ILLEGAL);
    const versioned = [
      line({ op: "put", value: "a", version: 0, err: "ErrMaybe" }),
      line({ op: "put", value: "b", version: 0, callMs: 3, returnMs: 4 }),
      line({ op: "get", output: "b", version: 1, callMs: 5, returnMs: 6 }),
    ];
    const okVersioned = await check(folder, { "v.jsonl": versioned.join("\n") }, {
      model: "versioned-kv",
    });
    assert.equal(okVersioned.code, EXIT_OK);
    const stale = [
      ...versioned,
      line({ op: "get", output: "a", version: 1, callMs: 7, returnMs: 8 }),
    ];
    const staleResult = await check(folder, { "w.jsonl": stale.join("\n") }, {
      model: "versioned-kv",
      writeOut: "json",
    });
    assert.equal(staleResult.code, EXIT_ILLEGAL);
    const report = JSON.parse(staleResult.lines[0]);
    assert.equal(report.verdict, "illegal");
    assert.equal(report.keys[0].verdict, "illegal");
    assert.equal(report.html, `${folder}/w.check.html`);
  });
});

Deno.test("dsys check exits 0, 1, 2 for ok, illegal, undecided and 3 for bad input", async () => {
  await withFolder(async (folder) => {
    const write = (value: number) => ednOperation(value, "write", "ok", `${value}`, `${value}`);
    await Deno.writeTextFile(`${folder}/ok.edn`, write(1));
    await Deno.writeTextFile(`${folder}/bad.edn`, `${write(1)}\n{:process 1, :type`);
    await Deno.writeTextFile(
      `${folder}/illegal.edn`,
      `${write(1)}\n${write(2)}\n` +
        ednOperation(3, "read", "ok", "nil", "1"),
    );
    // Twenty overlapping writes, each value read while they overlap, then two reads after them
    // that disagree: far beyond a 1 ms budget.
    const hard = [];
    for (let process = 0; process < 40; process++) {
      const f = process < 20 ? "write" : "read";
      hard.push(`{:process ${process}, :type :invoke, :f :${f}, :value ${process % 20}}`);
    }
    for (let process = 0; process < 40; process++) {
      const f = process < 20 ? "write" : "read";
      hard.push(`{:process ${process}, :type :ok, :f :${f}, :value ${process % 20}}`);
    }
    hard.push(
      ednOperation(40, "read", "ok", "nil", "1"),
      ednOperation(40, "read", "ok", "nil", "0"),
    );
    await Deno.writeTextFile(`${folder}/hard.edn`, hard.join("\n"));
    const ok = await runDsys(["--model", "register", "ok.edn"], folder);
    assert.equal(ok.code, EXIT_OK, ok.stderr);
    const illegal = await runDsys(
      ["--model", "register", "--html", "out.html", "illegal.edn"],
      folder,
    );
    assert.equal(illegal.code, EXIT_ILLEGAL);
    assert.match(illegal.stdout, /picture: out\.html/);
    assert.match(await Deno.readTextFile(`${folder}/out.html`), /Not linearizable/);
    const undecided = await runDsys(
      ["--model", "register", "--timeout", "0.001", "hard.edn"],
      folder,
    );
    assert.equal(undecided.code, EXIT_UNDECIDED);
    assert.match(undecided.stdout, /^undecided: 42 operations/m);
    const bad = await runDsys(["--model", "register", "bad.edn"], folder);
    assert.equal(bad.code, EXIT_BAD_INPUT);
    assert.equal(
      bad.stderr,
      'dsys check: Cannot read bad.edn line 3: expected "}", found the end at column 19\n',
    );
    const missing = await runDsys(["nothing.jsonl"], folder);
    assert.equal(missing.code, EXIT_BAD_INPUT);
    assert.match(missing.stderr, /Input file nothing.jsonl does not exist/);
    const usage = await runDsys(["--model", "queue", "ok.edn"], folder);
    assert.equal(usage.code, EXIT_BAD_INPUT);
    assert.match(usage.stderr, /Allowed choices are kv, versioned-kv, register, cas-register/);
  });
});
