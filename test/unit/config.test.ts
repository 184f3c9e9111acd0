/** Configuration: precedence of the sources, types, and clear errors for bad input. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseConfig, ConfigError } from "../../src/config";

const AGENT = path.resolve(__dirname, "../../../dist/src/cli/tetragon/main.js");

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "tetragon-conf-"));
}

const none = { dropInDirs: [], yamlFiles: [], etcDropIn: "/nonexistent", env: {} };

test("defaults are Tetragon's", () => {
  const r = parseConfig([], none);
  assert.equal(r.kind, "run");
  if (r.kind !== "run") return;
  assert.equal(r.config["server-address"], "localhost:54321");
  assert.equal(r.config["process-cache-size"], 65536);
  assert.equal(r.config["export-file-max-size-mb"], 10);
  assert.equal(r.config["export-file-max-backups"], 5);
  assert.equal(r.config["export-rate-limit"], -1);
  assert.equal(r.config["export-file-compress"], false);
});

test("drop-in dir < yaml < etc drop-in < --config-dir < env < flags", () => {
  const d1 = tmp(), d2 = tmp(), d3 = tmp();
  fs.writeFileSync(path.join(d1, "process-cache-size"), "100\n");
  fs.writeFileSync(path.join(d1, "cluster-name"), "from-dropin");
  fs.writeFileSync(path.join(d1, "export-filename"), "/from/dropin");
  fs.writeFileSync(path.join(d1, "log-level"), "warn");
  const yaml = path.join(d2, "tetragon.yaml");
  fs.writeFileSync(yaml, "process-cache-size: 200\ncluster-name: from-yaml\nenable-process-cred: true\nenable-ancestors: [base]\n");
  fs.writeFileSync(path.join(d3, "cluster-name"), "from-config-dir");
  const r = parseConfig(["--config-dir", d3, "--process-cache-size", "300", "--export-file-compress"], {
    dropInDirs: [d1], yamlFiles: [yaml], etcDropIn: "/nonexistent", env: { TETRAGON_LOG_LEVEL: "debug", TETRAGON_PROCESS_CACHE_SIZE: "250" },
  });
  assert.equal(r.kind, "run");
  if (r.kind !== "run") return;
  assert.equal(r.config["process-cache-size"], 300);
  assert.equal(r.config["cluster-name"], "from-config-dir");
  assert.equal(r.config["export-filename"], "/from/dropin");
  assert.equal(r.config["log-level"], "debug");
  assert.equal(r.config["enable-process-cred"], true);
  assert.deepEqual(r.config["enable-ancestors"], ["base"]);
  assert.equal(r.config["export-file-compress"], true);
});

test("a bad value names the flag and where it came from", () => {
  const d = tmp();
  fs.writeFileSync(path.join(d, "process-cache-size"), "lots");
  assert.throws(() => parseConfig(["--config-dir", d], none), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match((e as Error).message, /--process-cache-size/);
    assert.match((e as Error).message, new RegExp(path.join(d, "process-cache-size")));
    return true;
  });
  assert.throws(() => parseConfig(["--export-file-compress=maybe"], none), /expected true or false/);
  assert.throws(() => parseConfig(["--enable-ancestors", "base,bogus"], none), /enable-ancestors/);
});

test("a malformed yaml file is a clear error", () => {
  const d = tmp();
  const yaml = path.join(d, "tetragon.yaml");
  fs.writeFileSync(yaml, "process-cache-size: [1,\n");
  assert.throws(() => parseConfig([], { ...none, yamlFiles: [yaml] }), new RegExp(`parse config file ${yaml}`));
});

test("an unknown flag exits non-zero with a clear message", () => {
  const r = spawnSync(process.execPath, [AGENT, "--no-such-flag"], { encoding: "utf8" });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unknown option '--no-such-flag'/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, "no stack trace");
});

test("an unreadable config file exits non-zero with a clear message", () => {
  const d = tmp();
  fs.mkdirSync(path.join(d, "process-cache-size")); // a directory where a file should be
  const r = spawnSync(process.execPath, [AGENT, "--config-dir", d], { encoding: "utf8" });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /read config file .*process-cache-size: EISDIR/);
  const missing = spawnSync(process.execPath, [AGENT, "--config-dir", path.join(d, "missing")], { encoding: "utf8" });
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /read config directory .*missing: ENOENT/);
});

test("--help prints the flags and exits 0", () => {
  const r = spawnSync(process.execPath, [AGENT, "--help"], { encoding: "utf8" });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /--export-filename/);
  assert.match(r.stdout, /--process-cache-size/);
});
