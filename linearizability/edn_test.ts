import assert from "node:assert/strict";
import { EdnError, Keyword, parseEdn } from "./edn.ts";

Deno.test("parseEdn reads a Jepsen operation: keywords, numbers, nil, strings, vectors", () => {
  const value = parseEdn('{:process 0, :type :invoke, :f :cas, :value [1 "two"], :key nil}');
  assert.ok(value instanceof Map);
  assert.deepEqual(value.get(":process"), 0);
  assert.deepEqual(value.get(":type"), new Keyword("invoke"));
  assert.deepEqual(value.get(":value"), [1, "two"]);
  assert.equal(value.get(":key"), null);
});

Deno.test("parseEdn reads booleans, negative and N numbers, lists, escapes, comments", () => {
  assert.deepEqual(parseEdn('[true false -3 7N (1 2) "a\\"b\\n"] ; done'), [
    true,
    false,
    -3,
    7,
    [1, 2],
    'a"b\n',
  ]);
  const map = parseEdn('{"k" 1, 2 :two}');
  assert.ok(map instanceof Map);
  assert.deepEqual([...map.keys()], ['"k"', "2"]);
});

Deno.test("parseEdn refuses what is outside the subset, naming the column", () => {
  const cases: [string, RegExp][] = [
    ["{:a 1", /expected "}", found the end at column 6/],
    ["{:a}", /a map has a key without a value at column 5/],
    ["{:a 1 :a 2}", /the map has the key :a twice/],
    ["[1.5]", /"1.5" is not nil, true, false, a number or a keyword at column 2/],
    ["#{1}", /"#" is not nil/],
    ['"open', /the string is not closed at column 6/],
    ['"\\q"', /unknown escape in a string at column 3/],
    ["99999999999999999999", /too large a whole number at column 1/],
    ["1 2", /expected the end after one value at column 3/],
    ["{[1] 2}", /Only keywords, strings and whole numbers can be map keys/],
    ["", /expected a value, found the end at column 1/],
    ["[".repeat(40), /collections nest deeper than 32/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseEdn(text), (error) => {
      assert.ok(error instanceof EdnError, text);
      assert.match(error.message, message, text);
      return true;
    });
  }
});
