/**
 * In the VM (a kernel with kprobes, fentry and BPF-LSM): kprobes and a kretprobe on kernel
 * functions with BTF-typed arguments and `resolve`, socket operators in the kernel, an fentry
 * hook and an LSM hook, each fired by a real process and checked argument by argument.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { startAgentWithPolicies, tempDir, type JsonEvent, type RunningAgent } from "../helpers/agent";
import { MODULE_HOOKS } from "../helpers/module-hooks";
import { guestKernel, guestModulesDir, guestOnly, loadModule, withAgentLog, tryOpen } from "./guest";

const kp = (e: JsonEvent) => e.process_kprobe;

function policy(name: string, body: string): string {
  return `apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: "${name}"\nspec:\n${body}`;
}

/** A TCP server on addr:port that accepts and closes; resolves once listening. */
function server(addr: string, port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer((c) => c.end());
    s.once("error", reject);
    s.listen(port, addr, () => resolve(s));
  });
}

describe("kernel functions in the VM", { skip: guestOnly() }, () => {
  let agent: RunningAgent;
  const work = tempDir("vm-kfunc-");
  const watched = path.join(work, "watched");
  const other = path.join(work, "other");
  const viaFmodRet = path.join(work, "fmod-ret-denied.txt");
  const viaLsm = path.join(work, "lsm-denied.txt");
  const servers: net.Server[] = [];
  const modules = guestModulesDir();
  const python = fs.realpathSync("/usr/bin/python3");

  before(async () => {
    fs.mkdirSync(watched);
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(watched, "a.txt"), "a\n");
    fs.writeFileSync(path.join(other, "b.txt"), "b\n");
    fs.writeFileSync(viaFmodRet, "x\n");
    fs.writeFileSync(viaLsm, "x\n");
    servers.push(await server("127.0.0.2", 9102), await server("127.0.0.3", 9103), await server("127.0.0.1", 9101));
    agent = await startAgentWithPolicies(tempDir("vm-kfunc-tp-"), {
      files: policy("kfunc-files", `  kprobes:
  - call: "fd_install"
    syscall: false
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "file"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Prefix"
        values: ["${watched}/"]
  - call: "security_file_permission"
    syscall: false
    args:
    - index: 0
      type: "file"
    - index: 1
      type: "int"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Prefix"
        values: ["${watched}/"]
`),
      net: policy("kfunc-net", `  kprobes:
  - call: "tcp_connect"
    syscall: false
    args:
    - index: 0
      type: "sock"
    selectors:
    - matchArgs:
      - index: 0
        operator: "NotDAddr"
        values: ["127.0.0.1"]
      - index: 0
        operator: "DPort"
        values: ["9102"]
  - call: "security_socket_connect"
    syscall: false
    args:
    - index: 1
      type: "sockaddr"
    selectors:
    - matchArgs:
      - index: 1
        operator: "SPort"
        values: ["9103"]
  - call: "inet_csk_accept"
    syscall: false
    return: true
    returnArg:
      index: 0
      type: "sock"
    selectors:
    - matchReturnArgs:
      - index: 0
        operator: "SPort"
        values: ["9103"]
`),
      creds: policy("kfunc-creds", `  kprobes:
  - call: "commit_creds"
    syscall: false
    args:
    - index: 0
      type: "cred"
    selectors:
    - matchBinaries:
      - operator: "In"
        values: ["/usr/bin/setpriv"]
  - call: "security_bprm_check"
    syscall: false
    args:
    - index: 0
      type: "linux_binprm"
    - index: 0
      type: "string"
      resolve: "filename"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Postfix"
        values: ["/true"]
`),
      fentry: policy("kfunc-fentry", `  fentries:
  - call: "security_file_open"
    args:
    - index: 0
      type: "file"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Prefix"
        values: ["${watched}/"]
`),
      list: policy("kfunc-list", `  lists:
  - name: "opens"
    values: ["security_file_open", "vfs_open"]
  kprobes:
  - call: "list:opens"
    syscall: false
    args:
    - index: 0
      type: "auto"
    selectors:
    - matchBinaries:
      - operator: "In"
        values: ["/usr/bin/tail"]
`),
      // Override: fmod_ret on a security_ function (any kernel with trampolines) and the LSM
      // verdict, on the same targets as the observing hooks above
      fmodret: policy("override-fmod-ret", `  fentries:
  - call: "security_file_open"
    args:
    - index: 0
      type: "file"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values: ["${viaFmodRet}"]
      matchActions:
      - action: Override
        argError: -2
`),
      lsmdeny: policy("override-lsm", `  lsmhooks:
  - hook: "file_open"
    args:
    - index: 0
      type: "file"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values: ["${viaLsm}"]
      matchActions:
      - action: Override
        argError: -1
`),
      // loadable modules, only where the kernel has modules to load
      ...(modules ? { modules: policy("kfunc-modules", MODULE_HOOKS) } : {}),
      // iov_iter: what a write hands the filesystem; the writer is python, filtered by binary
      iter: policy("kfunc-iov-iter", `  kprobes:
  - call: "generic_perform_write"
    syscall: false
    args:
    - index: 0
      type: "kiocb"
    - index: 1
      type: "iov_iter"
    selectors:
    - matchBinaries:
      - operator: "In"
        values: ["${python}"]
`),
      lsm: policy("kfunc-lsm", `  lsmhooks:
  - hook: "file_open"
    args:
    - index: 0
      type: "file"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Prefix"
        values: ["${watched}/"]
`),
    });
  });

  after(async () => {
    for (const s of servers) s.close();
    if (agent) assert.equal(await agent.stop(), 0, agent.logs());
  });

  test("fd_install and security_file_permission: file and int arguments, filtered by path in the kernel", () =>
    withAgentLog(agent, async () => {
      const r = spawnSync("/usr/bin/cat", [path.join(watched, "a.txt"), path.join(other, "b.txt")], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const fd = await agent.waitFor((e) => kp(e)?.function_name === "fd_install" && kp(e).process.binary === "/usr/bin/cat", "fd_install");
      assert.equal(kp(fd).args[1].file_arg.path, path.join(watched, "a.txt"));
      assert.ok(kp(fd).args[0].int_arg >= 3, JSON.stringify(kp(fd).args));
      const perm = await agent.waitFor((e) => kp(e)?.function_name === "security_file_permission" && kp(e).process.binary === "/usr/bin/cat", "security_file_permission");
      assert.equal(kp(perm).args[0].file_arg.path, path.join(watched, "a.txt"));
      assert.equal(kp(perm).args[1].int_arg, 4, "MAY_READ");
      await new Promise((res) => setTimeout(res, 1500));
      const leaked = agent.events().filter((e) => kp(e) && JSON.stringify(kp(e).args).includes(other));
      assert.deepEqual(leaked, [], "the kernel filtered out the other directory");
    }));

  test("tcp_connect: sock argument; NotDAddr and DPort decided in the kernel", () =>
    withAgentLog(agent, async () => {
      for (const [addr, port] of [["127.0.0.2", 9102], ["127.0.0.3", 9103], ["127.0.0.1", 9101]] as const) {
        const r = spawnSync("/usr/bin/python3", ["-c", `import socket; s=socket.create_connection(("${addr}", ${port})); s.close()`], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
      }
      const ev = await agent.waitFor((e) => kp(e)?.function_name === "tcp_connect", "tcp_connect");
      const sock = kp(ev).args[0].sock_arg;
      assert.equal(sock.daddr, "127.0.0.2");
      assert.equal(sock.dport, 9102);
      assert.equal(sock.protocol, "IPPROTO_TCP");
      assert.equal(sock.family, "AF_INET");
      assert.ok(sock.sport > 0);
      const sa = await agent.waitFor((e) => kp(e)?.function_name === "security_socket_connect", "security_socket_connect");
      assert.deepEqual(kp(sa).args[0].sockaddr_arg, { family: "AF_INET", addr: "127.0.0.3", port: 9103 }, "a sockaddr in kernel memory");
      await new Promise((res) => setTimeout(res, 1500));
      assert.equal(agent.events().filter((e) => kp(e)?.function_name === "security_socket_connect").length, 1, "SPort on a sockaddr filtered in the kernel");
      const all = agent.events().filter((e) => kp(e)?.function_name === "tcp_connect");
      assert.equal(all.length, 1, `only the connect to 127.0.0.2:9102 passes: ${JSON.stringify(all.map((e) => kp(e).args))}`);
    }));

  test("inet_csk_accept: a kretprobe returning the accepted sock, matched on it in the kernel", () =>
    withAgentLog(agent, async () => {
      const ev = await agent.waitFor((e) => kp(e)?.function_name === "inet_csk_accept", "inet_csk_accept");
      const sock = kp(ev).return.sock_arg;
      assert.equal(sock.saddr, "127.0.0.3");
      assert.equal(sock.sport, 9103);
      assert.equal(sock.daddr, "127.0.0.1");
      assert.equal(kp(ev).process.binary, process.execPath, "the server accepted in this test's process");
      const all = agent.events().filter((e) => kp(e)?.function_name === "inet_csk_accept");
      assert.ok(all.every((e) => kp(e).return.sock_arg.sport === 9103), JSON.stringify(all.map((e) => kp(e).return)));
    }));

  test("commit_creds: the new credentials of a real setuid", () =>
    withAgentLog(agent, async () => {
      const r = spawnSync("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/true"], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      // setpriv keeps its capabilities (SECBIT_KEEP_CAPS) to set the uid, then the gid
      const first = await agent.waitFor((e) => kp(e)?.function_name === "commit_creds" && kp(e).args[0].process_credentials_arg?.uid === 65534, "commit_creds to uid 65534");
      assert.equal(kp(first).args[0].process_credentials_arg.euid, 65534);
      assert.ok(kp(first).args[0].process_credentials_arg.securebits.includes("SecBitKeepCaps"), JSON.stringify(kp(first).args[0]));
      const ev = await agent.waitFor((e) => kp(e)?.function_name === "commit_creds" && kp(e).args[0].process_credentials_arg?.gid === 65534, "commit_creds to gid 65534");
      const cred = kp(ev).args[0].process_credentials_arg;
      assert.equal(cred.uid, 65534, JSON.stringify(cred));
      assert.equal(cred.egid, 65534, JSON.stringify(cred));
      assert.equal(cred.user_ns.level ?? 0, 0, JSON.stringify(cred));
      assert.equal(kp(ev).process.binary, "/usr/bin/setpriv");
    }));

  test("security_bprm_check: linux_binprm and a resolved field, Postfix in the kernel", () =>
    withAgentLog(agent, async () => {
      assert.equal(spawnSync("/usr/bin/true").status, 0);
      assert.equal(spawnSync("/usr/bin/false").status, 1);
      const ev = await agent.waitFor((e) => kp(e)?.function_name === "security_bprm_check" && kp(e).args[1].string_arg === "/usr/bin/true", "security_bprm_check of /usr/bin/true");
      assert.equal(kp(ev).args[0].linux_binprm_arg.path, fs.realpathSync("/usr/bin/true"), JSON.stringify(kp(ev).args));
      await new Promise((res) => setTimeout(res, 1000));
      const falses = agent.events().filter((e) => kp(e)?.function_name === "security_bprm_check" && kp(e).args[0].linux_binprm_arg.path.endsWith("/false"));
      assert.deepEqual(falses, []);
    }));

  test("an fentry hook (security_file_open) and an LSM hook (file_open) fire for a real open", () =>
    withAgentLog(agent, async () => {
      const child = spawn("/usr/bin/head", ["-c1", path.join(watched, "a.txt")], { stdio: "ignore" });
      await new Promise((res) => child.on("exit", res));
      const fe = await agent.waitFor((e) => kp(e)?.function_name === "security_file_open" && kp(e).process.binary === "/usr/bin/head", "fentry security_file_open");
      assert.equal(kp(fe).args[0].file_arg.path, path.join(watched, "a.txt"));
      assert.equal(kp(fe).policy_name, "kfunc-fentry");
      const lsm = await agent.waitFor((e) => e.process_lsm?.function_name === "file_open" && e.process_lsm.process.binary === "/usr/bin/head", "lsm file_open");
      assert.equal(lsm.process_lsm.args[0].file_arg.path, path.join(watched, "a.txt"));
      assert.equal(lsm.process_lsm.policy_name, "kfunc-lsm");
    }));

  test("a list of kernel functions: one kprobe.multi link where the kernel has them, events from each", () =>
    withAgentLog(agent, async () => {
      assert.equal(spawnSync("/usr/bin/tail", ["-c1", path.join(watched, "a.txt")]).status, 0);
      const sfo = await agent.waitFor((e) => kp(e)?.function_name === "security_file_open" && kp(e).policy_name === "kfunc-list", "security_file_open from the list");
      assert.ok(kp(sfo).args[0].file_arg, `auto on a struct file * reads the file: ${JSON.stringify(kp(sfo).args)}`);
      const vo = await agent.waitFor((e) => kp(e)?.function_name === "vfs_open" && kp(e).policy_name === "kfunc-list", "vfs_open from the list");
      assert.ok(kp(vo).args[0].path_arg, `auto on a struct path * reads the path: ${JSON.stringify(kp(vo).args)}`);
      const links = JSON.parse(spawnSync("bpftool", ["-j", "link", "show"], { encoding: "utf8" }).stdout) as Array<Record<string, any>>;
      const multi = links.filter((l) => l.type === "kprobe_multi");
      if (guestKernel().features.kprobe_multi) {
        // the kprobe functions of kfunc-files, -net (and its kretprobe), -creds, -list, -iov-iter
        // and, where modules load, -modules: one link per policy and program kind when they share
        // (bpftool before 7.3 does not print func_cnt, so the links are counted)
        const kprobeLinks = links.filter((l) => l.type === "perf_event" || l.type === "kprobe");
        const most = 6 + (modules ? 1 : 0);
        assert.ok(multi.length >= 1 && multi.length <= most, `kprobe_multi links shared by the functions: ${JSON.stringify(links.map((l) => [l.type, l.func_cnt]))}`);
        assert.ok(kprobeLinks.length <= 1, `no kprobe attached alone: ${JSON.stringify(links.map((l) => l.type))}`);
      } else {
        assert.deepEqual(multi, [], "no kprobe.multi on this kernel");
      }
    }));

  test("Override: fmod_ret on security_file_open fails an open with the policy's error; the LSM verdict with EPERM", () =>
    withAgentLog(agent, async () => {
      assert.match(agent.logs(), /override-fmod-ret[^\n]*fmod_ret security_file_open \(Override: fmod_ret\)/);
      assert.equal(tryOpen(viaFmodRet), "ENOENT");
      assert.equal(tryOpen(viaLsm), "EPERM");
      assert.equal(tryOpen(path.join(other, "b.txt")), "ok");
      const f = await agent.waitFor((e) => kp(e)?.policy_name === "override-fmod-ret", "the fmod_ret event");
      assert.equal(kp(f).action, "KPROBE_ACTION_OVERRIDE");
      const l = await agent.waitFor((e) => e.process_lsm?.policy_name === "override-lsm", "the LSM event");
      assert.equal(l.process_lsm.action, "KPROBE_ACTION_OVERRIDE");
    }));

  test("module and load_info: a signed module's name and signature state, an unsigned one's taint",
    { skip: modules ? false : "this kernel has no loadable modules (everything is built in)" }, () =>
    withAgentLog(agent, async () => {
      const find = (name: string) => [".ko", ".ko.xz"].map((x) => path.join(modules!, "drivers/net", name + x)).find((f) => fs.existsSync(f));
      const signedKo = find("dummy"), unsignedKo = find("nlmon");
      assert.ok(signedKo && unsignedKo, `dummy and nlmon modules under ${modules}`);
      assert.equal(loadModule(signedKo, false), "ok", "finit_module of the signed dummy module");
      assert.equal(loadModule(unsignedKo, true), "ok", "finit_module of nlmon without its signature");
      const mod = (fn: string, name: string) => agent.waitFor((e) => kp(e)?.function_name === fn && kp(e).args[0]?.module_arg?.name === name, `${fn} of ${name}`);
      const signedInit = kp(await mod("do_init_module", "dummy")).args[0].module_arg;
      assert.equal(signedInit.signature_ok, true, JSON.stringify(signedInit));
      assert.ok(!(signedInit.tainted ?? []).includes("TAINT_UNSIGNED_MODULE"), JSON.stringify(signedInit));
      const unsignedInit = kp(await mod("do_init_module", "nlmon")).args[0].module_arg;
      assert.equal(unsignedInit.signature_ok, false, JSON.stringify(unsignedInit));
      assert.ok((unsignedInit.tainted ?? []).includes("TAINT_UNSIGNED_MODULE"), JSON.stringify(unsignedInit));
      const signedInfo = kp(await mod("mod_sysfs_setup", "dummy")).args[0].module_arg;
      assert.equal(signedInfo.signature_ok, true, JSON.stringify(signedInfo));
      const unsignedInfo = kp(await mod("mod_sysfs_setup", "nlmon")).args[0].module_arg;
      assert.equal(unsignedInfo.signature_ok, false, JSON.stringify(unsignedInfo));
    }));

  test("iov_iter: the bytes of a write (one user buffer) and of a writev (two iovecs)", () =>
    withAgentLog(agent, async () => {
      const file = path.join(work, "iov-iter.txt");
      const r = spawnSync(python, ["-c", `
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
os.write(fd, b"hello-iov-iter\\n")
os.writev(fd, [b"seg-one|", b"seg-two"])
os.close(fd)
`, file], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const bytes = (e: JsonEvent) => {
        const a = kp(e)?.function_name === "generic_perform_write" ? kp(e).args[1] : undefined;
        return a?.bytes_arg !== undefined ? Buffer.from(a.bytes_arg, "base64").toString() : undefined;
      };
      const one = await agent.waitFor((e) => bytes(e) === "hello-iov-iter\n", "generic_perform_write of the write");
      // the kiocb's file (under an overlay, the file the write reaches: same name)
      assert.equal(path.basename(kp(one).args[0].file_arg?.path ?? ""), "iov-iter.txt", JSON.stringify(kp(one).args[0]));
      await agent.waitFor((e) => bytes(e) === "seg-one|seg-two", "generic_perform_write of the writev, both segments");
    }));
});
