/**
 * In the VM: the kernel is the one the host booted, and `tetra probe` reports its features.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "../helpers/agent";
import { assertFeatures, guestKernel, guestOnly, parseFeatures } from "./guest";

describe("the VM's kernel", { skip: guestOnly() }, () => {
  test("is the kernel the host booted", () => {
    const k = guestKernel();
    assert.match(os.release(), k.release, `${k.name}: uname -r`);
  });

  test("tetra probe reports its features", () => {
    const k = guestKernel();
    const r = spawnSync(process.execPath, [path.join(ROOT, "dist/src/cli/tetra/main.js"), "probe"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assertFeatures(parseFeatures(r.stdout), k.features, `${k.name} tetra probe`);
  });
});
