/** planMarks: which fanotify marks cover a policy's Equal/Prefix paths (temporary tree, no fanotify). */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { histogramQuantile, planMarks } from "../../src/enforce/fanotify-guard";

let root: string;

// root/
//   etc/passwd, etc/shadow
//   etc/ssh/sshd_config, etc/ssh/keys/host
//   etc/ssl/certs/
//   etc/sudoers.d/
//   etc/link -> ../outside (symlink to a directory: not followed)
//   outside/deep/
//   big/d0..d9/
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "tetragon-ts-fanplan-"));
  const mk = (p: string) => fs.mkdirSync(path.join(root, p), { recursive: true });
  const touch = (p: string) => fs.writeFileSync(path.join(root, p), "x");
  mk("etc/ssh/keys");
  mk("etc/ssl/certs");
  mk("etc/sudoers.d");
  mk("outside/deep");
  touch("etc/passwd");
  touch("etc/shadow");
  touch("etc/ssh/sshd_config");
  touch("etc/ssh/keys/host");
  fs.symlinkSync("../outside", path.join(root, "etc/link"));
  for (let i = 0; i < 10; i++) mk(`big/d${i}`);
});

after(() => fs.rmSync(root, { recursive: true, force: true }));

const p = (rel: string) => path.join(root, rel);
const sorted = <T extends { path: string; kind: string }>(m: T[]) =>
  [...m].sort((a, b) => (a.path + a.kind).localeCompare(b.path + b.kind));

test("Equal on an existing file: an inode mark, no note", () => {
  const r = planMarks([{ op: "Equal", path: p("etc/shadow") }], { maxDirs: 100 });
  assert.deepEqual(r.marks, [{ path: p("etc/shadow"), kind: "inode" }]);
  assert.deepEqual(r.notes, []);
});

test("Equal on an existing directory: an inode mark on it", () => {
  const r = planMarks([{ op: "Equal", path: p("etc/ssh") }], { maxDirs: 100 });
  assert.deepEqual(r.marks, [{ path: p("etc/ssh"), kind: "inode" }]);
});

test("Equal on a missing file: a dir mark on its parent, noted", () => {
  const r = planMarks([{ op: "Equal", path: p("etc/gshadow") }], { maxDirs: 100 });
  assert.deepEqual(r.marks, [{ path: p("etc"), kind: "dir" }]);
  assert.equal(r.notes.length, 1);
  assert.match(r.notes[0], /gshadow: does not exist; watching the files of .*\/etc$/);
});

test("Equal on a file under a missing directory: the nearest existing ancestor, noted as not covering it", () => {
  const r = planMarks([{ op: "Equal", path: p("etc/nope/deeper/file") }], { maxDirs: 100 });
  assert.deepEqual(r.marks, [{ path: p("etc"), kind: "dir" }]);
  assert.match(r.notes[0], /nor does .*nope\/deeper; watching the files of .*\/etc, which do not include it/);
});

test("Prefix naming a directory: dir marks on it and every subdirectory, symlinks not followed", () => {
  for (const value of [p("etc") + "/", p("etc")]) {
    const r = planMarks([{ op: "Prefix", path: value }], { maxDirs: 100 });
    assert.deepEqual(
      sorted(r.marks),
      sorted(["etc", "etc/ssh", "etc/ssh/keys", "etc/ssl", "etc/ssl/certs", "etc/sudoers.d"].map((d) => ({ path: p(d), kind: "dir" }))),
      value,
    );
    assert.deepEqual(r.notes, []);
    assert.ok(!r.marks.some((m) => m.path.includes("outside") || m.path.endsWith("link")));
  }
});

test("Prefix ending in a name: the parent and the matching subdirectories", () => {
  const r = planMarks([{ op: "Prefix", path: p("etc/ss") }], { maxDirs: 100 });
  assert.deepEqual(
    sorted(r.marks),
    sorted(["etc", "etc/ssh", "etc/ssh/keys", "etc/ssl", "etc/ssl/certs"].map((d) => ({ path: p(d), kind: "dir" }))),
  );
  // a prefix that is an existing file: its directory, no subdirectory matches
  const f = planMarks([{ op: "Prefix", path: p("etc/passwd") }], { maxDirs: 100 });
  assert.deepEqual(f.marks, [{ path: p("etc"), kind: "dir" }]);
});

test("Prefix under a missing directory: the nearest existing directory, noted", () => {
  const r = planMarks([{ op: "Prefix", path: p("etc/missing/sub/") }], { maxDirs: 100 });
  assert.deepEqual(r.marks, [{ path: p("etc"), kind: "dir" }]);
  assert.match(r.notes[0], /missing\/sub does not exist/);
});

test("a walk over maxDirs becomes one mount mark, noted", () => {
  const exact = planMarks([{ op: "Prefix", path: p("big/") }], { maxDirs: 11 });
  assert.equal(exact.marks.length, 11);
  assert.ok(exact.marks.every((m) => m.kind === "dir"));
  assert.deepEqual(exact.notes, []);

  const over = planMarks([{ op: "Prefix", path: p("big/") }], { maxDirs: 10 });
  assert.deepEqual(over.marks, [{ path: p("big"), kind: "mount" }]);
  assert.equal(over.notes.length, 1);
  assert.match(over.notes[0], /more than 10 directories under .*big; one mount mark/);
});

test("overlapping values are marked once; relative paths are refused", () => {
  const r = planMarks(
    [
      { op: "Equal", path: p("etc/shadow") },
      { op: "Equal", path: p("etc/shadow") },
      { op: "Prefix", path: p("etc/ssh/") },
      { op: "Prefix", path: p("etc/ssh") },
      { op: "Equal", path: "etc/passwd" },
    ],
    { maxDirs: 100 },
  );
  assert.deepEqual(sorted(r.marks), sorted([
    { path: p("etc/shadow"), kind: "inode" },
    { path: p("etc/ssh"), kind: "dir" },
    { path: p("etc/ssh/keys"), kind: "dir" },
  ]));
  assert.deepEqual(r.notes, ["Equal etc/passwd: not an absolute path, not guarded"]);
});

test("histogramQuantile picks the bucket holding the rank", () => {
  const h = [
    { belowNs: 1000, count: 2 },
    { belowNs: 2000, count: 5 },
    { belowNs: 4000, count: 3 },
  ];
  assert.equal(histogramQuantile(h, 0.5), 2000);
  assert.equal(histogramQuantile(h, 0.1), 1000);
  assert.equal(histogramQuantile(h, 1), 4000);
  assert.equal(histogramQuantile([], 0.5), 0);
});
