/**
 * Docker end to end, against a real dockerd (test/helpers/docker.ts: docker.io from apt when
 * missing, a hand-started daemon, a base image imported from host files):
 *  - the agent on the host with --enable-docker: a process started by `docker run` and one
 *    started by `docker exec` into a running container carry the container id (`docker`)
 *    and, in pod.container, the container's name and image;
 *  - the agent as a container (Dockerfile, built FROM the imported base image, run with the
 *    README's line) sees a host process and a container process, and
 *    `docker exec <agent> tetra getevents -o compact` prints them.
 * Skipped, with the reason, only when docker.io cannot be installed or dockerd not started.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT, isExec, startAgent, type JsonEvent } from "../helpers/agent";
import { BASE_IMAGE, docker, dockerCli, removeContainers, setupDocker, type DockerEnv } from "../helpers/docker";

const ADDON = path.join(ROOT, "build/Release/tetragon_native.node");
const AGENT_IMAGE = "tetragon-ts:local";
const tag = crypto.randomBytes(3).toString("hex");
const names = { run: `tg-run-${tag}`, sleeper: `tg-sleep-${tag}`, agent: `tg-agent-${tag}`, probe: `tg-probe-${tag}` };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Docker containers", { timeout: 300_000 }, () => {
  let env: DockerEnv;

  before(async () => {
    env = await setupDocker([ADDON]);
    if (!env.skip) console.log(`# docker setup: ${JSON.stringify(env.timings)} s`);
  });

  after(async () => {
    if (env && !env.skip) {
      spawnSync(dockerCli(), ["stop", "-t", "20", names.agent], { stdio: "ignore", timeout: 40_000 });
      removeContainers(...Object.values(names));
      fs.rmSync(`/sys/fs/bpf/tetragon-docker-${tag}`, { recursive: true, force: true });
      // the layers of earlier builds of the agent image
      spawnSync(dockerCli(), ["image", "prune", "-f"], { stdio: "ignore", timeout: 60_000 });
    }
    await env?.stop();
  });

  test("the host agent, finding the daemon on /var/run/docker.sock, names the containers of `docker run` and `docker exec` processes", { timeout: 120_000 }, async (t) => {
    if (env.skip) return t.skip(env.skip);
    const agent = await startAgent([]); // no --enable-docker: the socket answers
    assert.match(agent.logs(), /a Docker daemon answers/);
    try {
      const image = JSON.parse(docker(["image", "inspect", BASE_IMAGE]))[0] as { Id: string };

      // a container started after the agent: its first process
      const runMarker = `docker-run-${tag}`;
      docker(["run", "--network", "none", "--name", names.run, BASE_IMAGE, "/usr/bin/echo", runMarker]);
      const runId = docker(["inspect", "-f", "{{.Id}}", names.run]).trim();
      const run = await agent.waitFor(
        (e: JsonEvent) => isExec(e) && e.process_exec.process.arguments === runMarker, "the exec of `docker run`", 20_000,
      );
      const p = run.process_exec.process;
      assert.equal(p.docker, runId.slice(0, 31));
      assert.equal(p.pod?.container?.id, `docker://${runId}`);
      assert.equal(p.pod?.container?.name, names.run);
      assert.equal(p.pod?.container?.image?.name, BASE_IMAGE);
      assert.equal(p.pod?.container?.image?.id, image.Id);
      assert.equal(p.pod?.namespace, undefined, "no Kubernetes namespace");

      // a process exec'd into a running container
      docker(["run", "-d", "--network", "none", "--name", names.sleeper, BASE_IMAGE, "/usr/bin/sleep", "120"]);
      const sleeperId = docker(["inspect", "-f", "{{.Id}}", names.sleeper]).trim();
      const execMarker = `docker-exec-${tag}`;
      docker(["exec", names.sleeper, "/usr/bin/echo", execMarker]);
      const ex = await agent.waitFor(
        (e: JsonEvent) => isExec(e) && e.process_exec.process.arguments === execMarker, "the exec of `docker exec`", 20_000,
      );
      const q = ex.process_exec.process;
      assert.equal(q.docker, sleeperId.slice(0, 31));
      assert.equal(q.pod?.container?.name, names.sleeper);
      assert.equal(q.pod?.container?.image?.name, BASE_IMAGE);
      assert.ok(q.pod?.container?.start_time, "start_time is set");
      // its exit carries it too
      await agent.waitFor(
        (e: JsonEvent) => e.process_exit?.process?.arguments === execMarker && e.process_exit.process.pod?.container?.name === names.sleeper,
        "the exit of the `docker exec` process", 20_000,
      );
    } finally {
      removeContainers(names.run, names.sleeper);
      await agent.stop();
    }
  });

  test("the agent image sees host and container processes; `docker exec <agent> tetra getevents -o compact` prints them", { timeout: 150_000 }, async (t) => {
    if (env.skip) return t.skip(env.skip);
    const t0 = Date.now();
    const build = spawnSync("bash", [path.join(ROOT, "scripts/docker-build.sh"), AGENT_IMAGE, BASE_IMAGE], { encoding: "utf8", timeout: 90_000 });
    assert.equal(build.status, 0, `image build failed:\n${build.stdout}\n${build.stderr}`);
    console.log(`# agent image build: ${(Date.now() - t0) / 1000} s`);

    // the README's line, with --privileged; a host whose capability bounding set lacks a
    // capability (CAP_SYS_RESOURCE on the CI VM) cannot run privileged containers: there the
    // README's alternative (every capability the host has, no seccomp/AppArmor) is used
    const volumes = [
      "-v", "/sys/kernel:/sys/kernel", "-v", "/sys/fs/bpf:/sys/fs/bpf", "-v", "/proc:/procRoot",
      "-v", "/var/run/docker.sock:/var/run/docker.sock",
    ];
    const bpfDir = `tetragon-docker-${tag}`;
    const agentArgs = ["--procfs", "/procRoot", "--enable-docker", "--bpf-dir", bpfDir, "--health-server-address", ""];
    const common = [
      "run", "-d", "--name", names.agent, "--pid=host", "--cgroupns=host", "--network", "none", "-e", `NODE_NAME=${os.hostname()}`, ...volumes,
    ];
    try {
      docker([...common.slice(0, 4), "--privileged", ...common.slice(4), AGENT_IMAGE, ...agentArgs]);
    } catch (err) {
      if (!/apply caps|operation not permitted/.test(String(err))) throw err;
      removeContainers(names.agent);
      const missing = missingCaps();
      t.diagnostic(`--privileged is refused here; running with --cap-add ALL --cap-drop ${missing.join(",")}`);
      docker([
        ...common.slice(0, 4), "--cap-add", "ALL", ...missing.flatMap((c) => ["--cap-drop", c]),
        "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined", "--security-opt", "systempaths=unconfined",
        ...common.slice(4), AGENT_IMAGE, ...agentArgs,
      ]);
    }

    const ready = Date.now() + 60_000;
    let logs = "";
    while (!logs.includes("agent ready")) {
      logs = spawnSync(dockerCli(), ["logs", names.agent], { encoding: "utf8" }).stderr ?? "";
      const state = docker(["inspect", "-f", "{{.State.Running}}", names.agent]).trim();
      if (state !== "true") assert.fail(`the agent container stopped:\n${logs}`);
      if (Date.now() > ready) assert.fail(`the agent container did not get ready:\n${logs}`);
      await sleep(250);
    }

    const ge = spawn(dockerCli(), ["exec", names.agent, "timeout", "60", "tetra", "getevents", "-o", "compact", "--color", "never"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    ge.stdout.on("data", (d) => (out += d));
    ge.stderr.on("data", (d) => (out += d));
    try {
      const hostMarker = `host-${tag}`;
      const ctrMarker = `ctr-${tag}`;
      const until = async (cond: () => boolean, act: () => void, what: string) => {
        const end = Date.now() + 40_000;
        while (!cond()) {
          if (Date.now() > end) assert.fail(`timed out waiting for ${what}; tetra printed:\n${out}\nagent:\n${spawnSync(dockerCli(), ["logs", names.agent], { encoding: "utf8" }).stderr}`);
          act();
          await sleep(1000);
        }
      };
      const line = (marker: string) => out.split("\n").find((l) => new RegExp(`^🚀 process \\S+ /(usr/)?bin/echo ${marker}$`).test(l));
      // tetra connects some time after it started: repeat the processes until they show
      await until(() => line(hostMarker) !== undefined, () => void spawnSync("/bin/echo", [hostMarker]), "the host process");
      assert.match(line(hostMarker)!, new RegExp(`^🚀 process ${os.hostname()} /(usr/)?bin/echo ${hostMarker}$`));
      await until(() => line(ctrMarker) !== undefined, () => {
        removeContainers(names.probe);
        spawnSync(dockerCli(), ["run", "--network", "none", "--name", names.probe, BASE_IMAGE, "/usr/bin/echo", ctrMarker], { timeout: 30_000 });
      }, "the container process");
      // the compact source of a container that only Docker knows is its name
      assert.match(line(ctrMarker)!, new RegExp(`^🚀 process ${names.probe} /usr/bin/echo ${ctrMarker}$`));
    } finally {
      ge.kill();
      // SIGTERM: the agent removes its pins under the host's /sys/fs/bpf (a kill would leave them)
      spawnSync(dockerCli(), ["stop", "-t", "20", names.agent], { stdio: "ignore", timeout: 40_000 });
      removeContainers(names.probe, names.agent);
      fs.rmSync(path.join("/sys/fs/bpf", bpfDir), { recursive: true, force: true });
    }
  });
});

/** The capabilities the kernel knows that this process's bounding set lacks, as Docker names them. */
function missingCaps(): string[] {
  const NAMES = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT",
    "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE",
    "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
    "PERFMON", "BPF", "CHECKPOINT_RESTORE",
  ];
  const status = require("node:fs").readFileSync("/proc/self/status", "utf8") as string;
  const bnd = BigInt("0x" + (/CapBnd:\s*([0-9a-f]+)/.exec(status)?.[1] ?? "0"));
  return NAMES.filter((_, i) => (bnd & (1n << BigInt(i))) === 0n);
}
