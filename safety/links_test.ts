import assert from "node:assert/strict";
import { SeededRandom } from "../util/random.ts";
import { Links } from "./links.ts";

/** Which peers `peer` reaches, as a string of 0/1 by peer id. */
function reach(links: Links, peer: number): string {
  return Array.from({ length: links.peers }, (_, to) => links.allows(peer, to) ? "1" : "0")
    .join("");
}

Deno.test("split keeps only the links inside each group, both ways", () => {
  const links = new Links(5);
  links.split([0, 0, 1, 1, 2]);
  assert.deepEqual([0, 1, 2, 3, 4].map((peer) => reach(links, peer)), [
    "11000",
    "11000",
    "00110",
    "00110",
    "00001",
  ]);
  links.healAll();
  assert.equal(links.downCount, 0);
});

Deno.test("isolate cuts one peer off both ways and leaves other cuts alone", () => {
  const links = new Links(3);
  links.cutOneWay(1, 2);
  links.isolate(0);
  assert.deepEqual([0, 1, 2].map((peer) => reach(links, peer)), ["100", "010", "011"]);
});

Deno.test("a one-way cut stops messages in one direction only", () => {
  const links = new Links(3);
  links.cutOneWay(0, 1);
  assert.equal(links.allows(0, 1), false);
  assert.equal(links.allows(1, 0), true);
  links.cutOneWay(2, 2);
  assert.equal(links.allows(2, 2), true, "a peer always reaches itself");
});

Deno.test("a minority split holds the given peer and at most half the group", () => {
  const random = new SeededRandom(3);
  for (let round = 0; round < 50; round++) {
    const links = new Links(7);
    const leader = random.int(7);
    links.splitMinority(random, leader);
    const side = reach(links, leader);
    const size = [...side].filter((bit) => bit === "1").length;
    assert.ok(size >= 1 && size <= 3, `minority of ${size} in round ${round}`);
  }
});

Deno.test("random partitions describe themselves and follow the seed", () => {
  const shapes = (seed: number) => {
    const random = new SeededRandom(seed);
    const links = new Links(5);
    return [links.splitRandomly(random), links.cutRandomOneWay(random), reach(links, 0)];
  };
  assert.deepEqual(shapes(11), shapes(11));
  assert.match(shapes(11)[0], /^split into groups [0-2]{5}$/);
  assert.match(shapes(11)[1], /^cut one way/);
});
