/**
 * The export file's writer: lines are encoded into one reused buffer as events come and
 * written once per event-loop turn (or when 256 KiB wait). Checks the bytes that reach the
 * file against the encoder, for small, multi-byte and larger-than-the-buffer lines, and the
 * export metrics.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { create } from "@bufbuild/protobuf";
import { GetEventsResponseSchema, type GetEventsResponse } from "../../src/api/gen/tetragon/events_pb";
import { ProcessExecSchema, ProcessSchema } from "../../src/api/gen/tetragon/tetragon_pb";
import { JsonFileExporter } from "../../src/exporters/json-file-exporter";
import { encodeEventJson } from "../../src/encode/json";
import { AgentMetrics } from "../../src/metrics/registry";

function execEvent(args: string, pid: number): GetEventsResponse {
  return create(GetEventsResponseSchema, {
    nodeName: "unit",
    time: { seconds: 1_700_000_000n, nanos: pid } as never,
    event: {
      case: "processExec",
      value: create(ProcessExecSchema, { process: create(ProcessSchema, { pid, binary: "/bin/echo", arguments: args, execId: `id-${pid}` }) }),
    },
  });
}

function exporter(file: string, metrics: AgentMetrics): JsonFileExporter {
  return new JsonFileExporter({
    filename: file, maxSizeBytes: 2 ** 40, maxBackups: 0, compress: false, mode: 0o600, rotationIntervalSec: 0,
    rateLimit: -1, filter: () => true, transform: (ev) => ev, nodeName: "unit",
  }, metrics);
}

async function metricValue(m: AgentMetrics, name: string): Promise<number> {
  const text = await m.registry.metrics();
  const line = text.split("\n").find((l) => l.startsWith(name + " "));
  return line ? Number(line.slice(name.length + 1)) : NaN;
}

test("the export file holds exactly the encoded lines: ASCII, multi-byte, and lines larger than the buffer", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "export-unit-"));
  try {
    const file = path.join(dir, "tetragon.log");
    const metrics = new AgentMetrics();
    const ex = exporter(file, metrics);
    const events = [
      execEvent("plain", 1),
      execEvent("ünïcödé ✓ 𝄞 \u0000 \"quoted\"", 2),
      execEvent("x".repeat(700 * 1024), 3), // past the 512 KiB buffer
      ...Array.from({ length: 2000 }, (_, i) => execEvent(`many ${i} ${"é".repeat(i % 50)}`, 10 + i)), // past 256 KiB: written before the turn ends
      execEvent("€".repeat(200 * 1024), 5000), // 3 bytes a character
      execEvent("last", 5001),
    ];
    for (const ev of events) ex.onEvent(ev);
    ex.close();
    const want = events.map((ev) => encodeEventJson(ev) + "\n").join("");
    const got = fs.readFileSync(file, "utf8");
    assert.equal(got.length, want.length);
    assert.ok(got === want, "file content equals the encoded lines in order");
    assert.equal(ex.exported, events.length);
    assert.equal(await metricValue(metrics, "tetragon_events_exported_total"), events.length);
    assert.equal(await metricValue(metrics, "tetragon_events_exported_bytes_total"), Buffer.byteLength(want));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("lines of one event-loop turn go out together, at the end of the turn", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "export-unit-"));
  try {
    const file = path.join(dir, "tetragon.log");
    const ex = exporter(file, new AgentMetrics());
    ex.onEvent(execEvent("a", 1));
    ex.onEvent(execEvent("b", 2));
    assert.equal(fs.statSync(file).size, 0, "nothing written during the turn");
    await new Promise((r) => setImmediate(r));
    const lines = fs.readFileSync(file, "utf8").split("\n");
    assert.deepEqual(lines.slice(0, 2).map((l) => JSON.parse(l).process_exec.process.arguments), ["a", "b"]);
    ex.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
