/**
 * Argument types end to end: returnCopy buffers, const_buf, nop, labels, capability,
 * bpf_cmd and isNamespacePID, each from a real call whose values the test knows.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { startAgentWithPolicies, tempDir, type JsonEvent, type RunningAgent } from "../helpers/agent";

const kp = (e: JsonEvent) => e.process_kprobe;

describe("argument types", () => {
  let agent: RunningAgent;
  const dir = tempDir("tp-types-");
  const content = "returned-bytes-0123456789\n";
  fs.writeFileSync(path.join(dir, "read-me.txt"), content);
  const perl = "/usr/bin/perl";
  const policies: Record<string, string> = {
    read: `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "read-returncopy"
spec:
  kprobes:
  - call: "sys_read"
    return: true
    args:
    - index: 0
      type: "fd"
      label: "file"
    - index: 1
      type: "char_buf"
      returnCopy: true
      label: "data"
    - index: 2
      type: "nop"
    returnArg:
      index: 0
      type: "int"
      label: "count"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Postfix"
        values:
        - "/read-me.txt"
`,
    uname: `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "uname-constbuf"
spec:
  kprobes:
  - call: "sys_newuname"
    return: true
    args:
    - index: 0
      type: "const_buf"
      sizeArgIndex: 65
      returnCopy: true
    returnArg:
      index: 0
      type: "int"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "${fs.realpathSync("/usr/bin/uname")}"
`,
    cap: `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "cap-capable"
spec:
  tracepoints:
  - subsystem: "capability"
    event: "cap_capable"
    args:
    - index: 7
      type: "capability"
    - index: 8
      type: "int"
    selectors:
    - matchArgs:
      - index: 7
        operator: "Equal"
        values:
        - "23"
      matchBinaries:
      - operator: "In"
        values:
        - "${fs.realpathSync("/usr/bin/hostname")}"
        - "${fs.realpathSync("/usr/bin/nice")}"
`,
    bpf: `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "bpf-cmd"
spec:
  kprobes:
  - call: "sys_bpf"
    args:
    - index: 0
      type: "bpf_cmd"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values:
        - "11"
      matchBinaries:
      - operator: "In"
        values:
        - "${fs.realpathSync("/usr/sbin/bpftool")}"
`,
    nspid: `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "ns-pid"
spec:
  kprobes:
  - call: "sys_getppid"
    selectors:
    - matchPIDs:
      - operator: "In"
        isNamespacePID: true
        values:
        - 1
      matchBinaries:
      - operator: "In"
        values:
        - "${perl}"
`,
  };

  // write(2)'s buffer with and without maxData: past 4095 bytes, a maxData buffer comes whole
  // (up to 327360 bytes), others cut, both with the size asked for
  for (const [name, max] of [["maxdata", true], ["nomax", false]] as const) {
    policies[`write-${name}`] = `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "write-${name}"
spec:
  kprobes:
  - call: "sys_write"
    args:
    - index: 0
      type: "fd"
    - index: 1
      type: "char_buf"
      sizeArgIndex: 3
      maxData: ${max}
    - index: 2
      type: "size_t"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Postfix"
        values:
        - "/${name}.bin"
`;
  }

  // kernel_cap_t: the caller's effective set, through its credentials
  policies["caps"] = `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "caps-effective"
spec:
  kprobes:
  - call: "sys_getppid"
    data:
    - index: 0
      type: "kernel_cap_t"
      source: "current_task"
      resolve: "cred.cap_effective"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "${perl}"
`;

  // lseek's offset (a loff_t) read as each integer width: the kernel truncates and
  // sign-extends before it compares, and the event shows the narrowed value
  const widths: Array<[string, string]> = [["int8", "-123"], ["uint8", "133"], ["int16", "-123"], ["uint16", "65413"], ["int32", "130949"], ["uint64", "4295098245"]];
  for (const [type, value] of widths) {
    policies[`w-${type}`] = `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "width-${type}"
spec:
  kprobes:
  - call: "sys_lseek"
    args:
    - index: 1
      type: "${type}"
    - index: 2
      type: "int"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Equal"
        values:
        - "${value}"
      matchBinaries:
      - operator: "In"
        values:
        - "${perl}"
`;
  }

  before(async () => {
    agent = await startAgentWithPolicies(dir, policies);
  });

  after(async () => {
    assert.equal(await agent.stop(), 0, agent.logs());
  });

  test("char_buf with returnCopy holds what read() returned; labels and nop", async () => {
    const r = spawnSync("/usr/bin/cat", [path.join(dir, "read-me.txt")], { encoding: "utf8" });
    assert.equal(r.stdout, content);
    const ev = await agent.waitFor((e) => kp(e)?.policy_name === "read-returncopy" && kp(e).return?.int_arg > 0, "read event");
    const k = kp(ev);
    assert.equal(k.args.length, 2, "nop arguments are not shown");
    assert.equal(k.args[0].label, "file");
    assert.equal(k.args[0].file_arg.path, path.join(dir, "read-me.txt"));
    assert.equal(k.args[1].label, "data");
    assert.equal(Buffer.from(k.args[1].bytes_arg, "base64").toString(), content);
    assert.equal(k.return.int_arg, content.length);
    assert.equal(k.return.label, "count");
  });

  test("int8, uint8, int16, uint16, int32, uint64: narrowed in the kernel, compared and reported at their width", async () => {
    // [offset, whence]: the whence tells the calls apart in the events
    const calls: Array<[number, number]> = [[0x1ff85, 0], [0x20085, 2], [0x10001ff85, 1], [5, 0]];
    const script = `open(F, "<", "/etc/hostname") or die; while (@ARGV) { my $o = shift; my $w = shift; sysseek(F, $o, $w); }`;
    const r = spawnSync(perl, ["-e", script, ...calls.flat().map(String)]);
    assert.equal(r.status, 0, String(r.stderr));
    const seen = (type: string) => agent.events().filter((e) => kp(e)?.policy_name === `width-${type}` && kp(e).process.pid === r.pid)
      .map((e) => { const a = kp(e).args[0]; return [a.int_arg ?? a.uint_arg ?? a.size_arg, kp(e).args[1].int_arg]; })
      .sort((a, b) => a[1] - b[1]);
    const end = Date.now() + 10000;
    while (Date.now() < end && seen("uint64").length < 1) await new Promise((res) => setTimeout(res, 50));
    await new Promise((res) => setTimeout(res, 300));
    assert.deepEqual(seen("int8"), [[-123, 0], [-123, 1], [-123, 2]]);
    assert.deepEqual(seen("uint8"), [[133, 0], [133, 1], [133, 2]]);
    assert.deepEqual(seen("int16"), [[-123, 0], [-123, 1]]);
    assert.deepEqual(seen("uint16"), [[65413, 0], [65413, 1]]);
    assert.deepEqual(seen("int32"), [[130949, 0], [130949, 1]]);
    assert.deepEqual(seen("uint64"), [["4295098245", 1]]);
  });

  test("char_buf maxData: a 100000-byte write comes whole, a 400000-byte one cut at 327360; without maxData cut at 4095", async () => {
    const pattern = (n: number) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) % 251; return b; };
    const py = [
      "import os, sys",
      "for path, n in zip(sys.argv[1::2], sys.argv[2::2]):",
      "    data = bytes((i * 7 + 3) % 251 for i in range(int(n)))",
      "    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)",
      "    assert os.write(fd, data) == len(data)",
      "    os.close(fd)",
    ].join("\n");
    const calls: Array<[string, number]> = [["maxdata.bin", 100000], ["maxdata.bin", 400000], ["maxdata.bin", 10], ["nomax.bin", 100000]];
    const r = spawnSync("/usr/bin/python3", ["-c", py, ...calls.flatMap(([f, n]) => [path.join(dir, f), String(n)])], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const seen = (policy: string) => agent.events().filter((e) => kp(e)?.policy_name === policy && kp(e).process.pid === r.pid).map((e) => kp(e).args[1]);
    const end = Date.now() + 10000;
    while (Date.now() < end && seen("write-maxdata").length < 3) await new Promise((res) => setTimeout(res, 50));
    await new Promise((res) => setTimeout(res, 300));
    const [whole, cut, small] = seen("write-maxdata");
    assert.equal(seen("write-maxdata").length, 3);
    assert.ok(whole.bytes_arg, "the 100000 bytes are not truncated");
    assert.ok(Buffer.from(whole.bytes_arg, "base64").equals(pattern(100000)));
    assert.equal(cut.truncated_bytes_arg.orig_size, "400000");
    assert.ok(Buffer.from(cut.truncated_bytes_arg.bytes_arg, "base64").equals(pattern(327360)));
    assert.ok(Buffer.from(small.bytes_arg, "base64").equals(pattern(10)));
    const [nomax] = seen("write-nomax");
    assert.equal(seen("write-nomax").length, 1);
    assert.equal(nomax.truncated_bytes_arg.orig_size, "100000");
    assert.ok(Buffer.from(nomax.truncated_bytes_arg.bytes_arg, "base64").equals(pattern(4095)));
  });

  test("kernel_cap_t: the effective capabilities of the caller, with and without CAP_SYS_ADMIN", async () => {
    const full = spawnSync(perl, ["-e", "getppid();"]);
    const dropped = spawnSync("/usr/bin/setpriv", ["--bounding-set", "-sys_admin", "--inh-caps", "-sys_admin", perl, "-e", "getppid();"]);
    assert.equal(full.status, 0);
    assert.equal(dropped.status, 0, String(dropped.stderr));
    const capsOf = (pid: number) => agent.events().filter((e) => kp(e)?.policy_name === "caps-effective" && kp(e).process.pid === pid)
      .map((e) => BigInt(`0x${kp(e).data[0].kernel_cap_t_arg}`));
    const end = Date.now() + 10000;
    while (Date.now() < end && capsOf(dropped.pid!).length < 1) await new Promise((res) => setTimeout(res, 50));
    // root's exec gets the bounding set: the test's own (the machine may withhold some)
    const bounding = /^CapBnd:\s*([0-9a-f]+)$/m.exec(fs.readFileSync("/proc/self/status", "utf8"));
    assert.ok(bounding);
    const all = BigInt(`0x${bounding[1]}`);
    assert.deepEqual(capsOf(full.pid!), [all]);
    assert.deepEqual(capsOf(dropped.pid!), [all & ~(1n << 21n)]);
  });

  test("const_buf read at the exit: the utsname uname(2) filled", async () => {
    const r = spawnSync("/usr/bin/uname", ["-s"], { encoding: "utf8" });
    assert.equal(r.stdout.trim(), "Linux");
    const ev = await agent.waitFor((e) => kp(e)?.policy_name === "uname-constbuf", "uname event");
    const buf = Buffer.from(kp(ev).args[0].bytes_arg, "base64");
    assert.equal(buf.length, 65);
    assert.equal(buf.toString("latin1").replace(/\0+$/, ""), "Linux");
    assert.equal(kp(ev).return.int_arg, 0);
  });

  test("capability: the cap of capability/cap_capable with its name, one selected", async () => {
    // every exec asks for CAP_SYS_ADMIN (memory accounting) and hostname for it again; only
    // nice's lower nice value asks for CAP_SYS_NICE, the one the policy selects
    const host = spawnSync("/usr/bin/hostname", [fs.readFileSync("/proc/sys/kernel/hostname", "utf8").trim()]);
    assert.equal(host.status, 0);
    const nice = spawnSync("/usr/bin/nice", ["-n", "-5", "/usr/bin/true"]);
    assert.equal(nice.status, 0, String(nice.stderr));
    const ev = await agent.waitFor((e) => e.process_tracepoint?.policy_name === "cap-capable", "cap_capable event");
    assert.deepEqual(ev.process_tracepoint.args[0].capability_arg, { value: 23, name: "CAP_SYS_NICE" });
    assert.equal(ev.process_tracepoint.args[1].int_arg ?? 0, 0, "root has it");
    await new Promise((res) => setTimeout(res, 300));
    const all = agent.events().filter((e) => e.process_tracepoint?.policy_name === "cap-capable");
    assert.deepEqual([...new Set(all.map((e) => `${e.process_tracepoint.process.pid} ${e.process_tracepoint.args[0].capability_arg.name}`))], [`${nice.pid} CAP_SYS_NICE`]);
  });

  test("bpf_cmd: the commands of bpftool's bpf() calls by name, one selected", async () => {
    const r = spawnSync("/usr/sbin/bpftool", ["prog", "show", "--json"]);
    assert.equal(r.status, 0);
    const ev = await agent.waitFor((e) => kp(e)?.policy_name === "bpf-cmd" && kp(e).args[0].bpf_cmd_arg === "BPF_PROG_GET_NEXT_ID", "bpf event");
    assert.equal(kp(ev).function_name, "__x64_sys_bpf");
    await new Promise((res) => setTimeout(res, 300));
    // bpftool also gets fds and infos by id (BPF_PROG_GET_FD_BY_ID, BPF_OBJ_GET_INFO_BY_FD): not these
    const cmds = agent.events().filter((e) => kp(e)?.policy_name === "bpf-cmd" && kp(e).process.pid === r.pid).map((e) => kp(e).args[0].bpf_cmd_arg);
    assert.ok(cmds.length >= 2, cmds.join(" "));
    assert.deepEqual([...new Set(cmds)], ["BPF_PROG_GET_NEXT_ID"]);
  });

  test("matchPIDs isNamespacePID: pid 1 of a new pid namespace matches, the host's processes do not", async () => {
    spawnSync(perl, ["-e", "getppid();"]);
    const r = spawnSync("/usr/bin/unshare", ["--pid", "--fork", perl, "-e", "print $$; getppid();"], { encoding: "utf8" });
    assert.equal(r.stdout, "1");
    const ev = await agent.waitFor((e) => kp(e)?.policy_name === "ns-pid", "getppid of pid 1 in its namespace");
    assert.notEqual(kp(ev).process.pid, 1, "the event shows the host pid");
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(agent.events().filter((e) => kp(e)?.policy_name === "ns-pid").length, 1);
  });
});
