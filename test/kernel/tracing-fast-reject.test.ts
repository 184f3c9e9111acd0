/**
 * The fast reject: a syscall attachment whose one hook has one selector starting with a string
 * operator on a string argument is decided on that entry first, before anything else is set up,
 * and a call that passes it goes the whole way with the string already read. Each policy here
 * hooks its own syscall, so that each attachment has that one hook; calls that pass the first
 * entry and fail what follows (another matchArgs entry, matchBinaries) must send nothing, and
 * the events of the calls that match carry exactly the arguments and return value they made.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { startAgentWithPolicies, tempDir, type JsonEvent, type RunningAgent } from "../helpers/agent";

const kp = (e: JsonEvent) => e.process_kprobe;
const PYTHON = "/usr/bin/python3"; // not a pyenv shim: the caller's binary is checked
const CAT = fs.realpathSync("/usr/bin/cat");

function policy(name: string, call: string, args: string, selector: string, extra = ""): string {
  return `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "${name}"
spec:
  kprobes:
  - call: "${call}"
${extra}    args:
${args}
    selectors:
    - matchArgs:
${selector}
`;
}

const arg = (index: number, type: string) => `    - index: ${index}\n      type: "${type}"\n`;
const match = (index: number, op: string, values: string[]) =>
  `      - index: ${index}\n        operator: "${op}"\n        values:\n${values.map((v) => `        - "${v}"`).join("\n")}`;

/** Runs syscalls through libc's syscall(2), exactly as given: [number, ...args]. */
function syscalls(calls: Array<Array<number | string>>): number[] {
  const script = `
import ctypes, json, sys
libc = ctypes.CDLL(None, use_errno=True)
out = []
for c in json.loads(sys.argv[1]):
    a = [ctypes.c_char_p(x.encode()) if isinstance(x, str) else ctypes.c_long(x) for x in c[1:]]
    r = libc.syscall(ctypes.c_long(c[0]), *a)
    out.append(r if r >= 0 else -ctypes.get_errno())
print(json.dumps(out))
`;
  const r = spawnSync(PYTHON, ["-c", script, JSON.stringify(calls)], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const AT_FDCWD = -100;
const NR = { openat: 257, mkdirat: 258, fchmodat: 268, truncate: 76, unlinkat: 263 };

describe("fast reject of single-hook syscall attachments", () => {
  let agent: RunningAgent;
  const dir = tempDir("tp-fast-");
  const base = path.join(dir, "files");
  fs.mkdirSync(base);
  const f = (n: string) => path.join(base, n);

  const policies: Record<string, string> = {
    // the path passes, the binary decides
    openat: policy("fast-openat-bin", "sys_openat", arg(1, "string"),
      `${match(1, "Equal", [f("a.txt")])}\n      matchBinaries:\n      - operator: "In"\n        values:\n        - "${CAT}"`),
    // the path passes, the second matchArgs entry decides
    fchmodat: policy("fast-fchmodat", "sys_fchmodat", arg(1, "string") + arg(2, "uint32"),
      `${match(1, "Prefix", [f("m-")])}\n${match(2, "Equal", ["384"])}`),
    // NotEqual, with the return value from the exit hook
    truncate: policy("fast-truncate-ret", "sys_truncate", arg(0, "string") + arg(1, "long"),
      match(0, "NotEqual", [f("keep")]), `    return: true\n    returnArg:\n      index: 0\n      type: "int"\n`),
    mkdirat: policy("fast-mkdirat-substr", "sys_mkdirat", arg(1, "string"), match(1, "SubString", ["needle"])),
    unlinkat: policy("fast-unlinkat-postfix", "sys_unlinkat", arg(1, "string"), match(1, "Postfix", [".gone"])),
  };

  before(async () => {
    agent = await startAgentWithPolicies(dir, policies);
  });

  after(async () => {
    assert.equal(await agent.stop(), 0, agent.logs());
  });

  /** The events of a policy from the test's own python or cat, under base. */
  const eventsOf = (name: string) => agent.events().filter((e) => kp(e)?.policy_name === name
    && [PYTHON, CAT].some((b) => fs.realpathSync(b) === kp(e).process.binary || b === kp(e).process.binary)
    && kp(e).args.some((a: JsonEvent) => typeof a.string_arg === "string" && a.string_arg.startsWith(base)));

  async function settle(name: string, count: number): Promise<void> {
    const end = Date.now() + 10000;
    while (Date.now() < end && eventsOf(name).length < count) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300)); // and nothing more comes
  }

  test("a call that passes the path but not matchBinaries sends nothing", async () => {
    fs.writeFileSync(f("a.txt"), "a");
    fs.writeFileSync(f("b.txt"), "b");
    assert.equal(spawnSync(CAT, [f("a.txt"), f("b.txt")]).status, 0);
    const [fd] = syscalls([[NR.openat, AT_FDCWD, f("a.txt"), 0, 0]]);
    assert.ok(fd >= 0);
    await settle("fast-openat-bin", 1);
    const evs = eventsOf("fast-openat-bin");
    assert.deepEqual(evs.map((e) => [kp(e).process.binary, kp(e).args[0].string_arg]), [[CAT, f("a.txt")]]);
  });

  test("a call that passes the first matchArgs entry but not the second sends nothing", async () => {
    for (const n of ["m-1", "m-2", "x-3"]) fs.writeFileSync(f(n), "m");
    assert.deepEqual(syscalls([
      [NR.fchmodat, AT_FDCWD, f("m-1"), 0o600, 0],
      [NR.fchmodat, AT_FDCWD, f("m-2"), 0o644, 0],
      [NR.fchmodat, AT_FDCWD, f("x-3"), 0o600, 0],
    ]), [0, 0, 0]);
    await settle("fast-fchmodat", 1);
    const evs = eventsOf("fast-fchmodat");
    assert.deepEqual(evs.map((e) => [kp(e).args[0].string_arg, kp(e).args[1].uint_arg]), [[f("m-1"), 0o600]]);
  });

  test("NotEqual with a return value: the excluded path sends nothing, the others their result", async () => {
    for (const n of ["keep", "t-1"]) fs.writeFileSync(f(n), "0123456789");
    assert.deepEqual(syscalls([
      [NR.truncate, f("keep"), 1],
      [NR.truncate, f("t-1"), 3],
      [NR.truncate, f("missing"), 0],
    ]), [0, 0, -2]);
    assert.equal(fs.statSync(f("t-1")).size, 3);
    await settle("fast-truncate-ret", 2);
    const evs = eventsOf("fast-truncate-ret");
    assert.deepEqual(evs.map((e) => [kp(e).args[0].string_arg, Number(kp(e).args[1].long_arg), kp(e).return.int_arg]),
      [[f("t-1"), 3, 0], [f("missing"), 0, -2]]);
  });

  test("SubString and Postfix on their own attachments", async () => {
    fs.writeFileSync(f("x.gone"), "");
    fs.writeFileSync(f("x.stay"), "");
    assert.deepEqual(syscalls([
      [NR.mkdirat, AT_FDCWD, f("hay-needle-1"), 0o755],
      [NR.mkdirat, AT_FDCWD, f("hay-2"), 0o755],
      [NR.unlinkat, AT_FDCWD, f("x.gone"), 0],
      [NR.unlinkat, AT_FDCWD, f("x.stay"), 0],
    ]), [0, 0, 0, 0]);
    await settle("fast-unlinkat-postfix", 1);
    assert.deepEqual(eventsOf("fast-mkdirat-substr").map((e) => kp(e).args[0].string_arg), [f("hay-needle-1")]);
    assert.deepEqual(eventsOf("fast-unlinkat-postfix").map((e) => kp(e).args[0].string_arg), [f("x.gone")]);
  });
});
