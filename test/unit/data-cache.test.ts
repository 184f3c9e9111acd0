/** The data cache that joins maxData buffers, sent in chunks, to their events. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DataCache } from "../../src/sensors/tracing/data-cache";

test("chunks join in order under their (tid, id), and are taken once", () => {
  const c = new DataCache(4);
  const batch = Buffer.from("abcdef");
  c.add(7, 1n, batch.subarray(0, 3));
  c.add(8, 1n, Buffer.from("other"));
  c.add(7, 1n, batch.subarray(3));
  batch.fill(0); // the ring-buffer batch is reused: the cache kept copies
  assert.equal(c.size, 2);
  assert.equal(c.take(7, 1n)?.toString(), "abcdef");
  assert.equal(c.take(7, 1n), undefined);
  assert.equal(c.misses, 1);
  assert.equal(c.take(8, 1n)?.toString(), "other");
  assert.equal(c.size, 0);
});

test("buffers whose event never comes are evicted oldest first, and counted", () => {
  const c = new DataCache(2);
  c.add(1, 1n, Buffer.from("a"));
  c.add(1, 2n, Buffer.from("b"));
  c.add(1, 3n, Buffer.from("c"));
  assert.equal(c.evictions, 1);
  assert.equal(c.take(1, 1n), undefined);
  assert.equal(c.take(1, 2n)?.toString(), "b");
  assert.equal(c.take(1, 3n)?.toString(), "c");
});
