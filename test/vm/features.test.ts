/**
 * In the VM: the kernel is the one the host booted, `tetra probe` reports its features, and
 * the programs the matrix's policies do not reach on this kernel still pass its verifier.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "../helpers/agent";
import { loadNative } from "../../src/loader/native";
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

  // these kernels override through kprobes, fmod_ret or BPF-LSM, so no policy here routes a
  // connect or bind hook to the cgroup programs: load them on their own
  test("the cgroup programs that evaluate connect and bind hooks load", () => {
    const native = loadNative();
    const object = path.join(ROOT, "bpf/.output/generic.bpf.o");
    const source = fs.readFileSync(path.join(ROOT, "bpf/programs/generic.bpf.c"), "utf8");
    const programs = [...source.matchAll(/^SEC\("[^"]+"\)\n(?:int|long) (\w+)\(/gm)].map((m) => m[1]);
    const cgroup = programs.filter((p) => p.startsWith("generic_cgroup_"));
    assert.equal(cgroup.length, 4, programs.join(" "));
    for (const prog of cgroup) {
      const obj = new native.BpfObject(object, {});
      try {
        for (const p of programs) obj.setProgramAutoload(p, p === prog);
        obj.load();
      } finally {
        obj.close();
      }
    }
  });
});
