/**
 * A Docker daemon for the Docker tests: installs Debian's docker.io when dockerd is missing
 * (apt-get, only then), starts dockerd by hand when no daemon answers on
 * /var/run/docker.sock (its own data root, no iptables, no bridge: containers get
 * `--network none` or the host network), imports a small base image made from the host's
 * files once (no registry to pull from), and stops the daemon it started at the end.
 *
 * The base image (BASE_IMAGE) holds a shell, coreutils, mount and the host's node with the
 * shared libraries they and the native addon need: enough to run test commands in
 * containers and to run the agent image built FROM it (Dockerfile).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";

export const DOCKER_SOCKET = "/var/run/docker.sock";
export const BASE_IMAGE = "tetragon-ts-base:local";
const DATA_ROOT = "/var/lib/tetragon-ts-docker";
const EXEC_ROOT = "/run/tetragon-ts-docker";

/** The docker CLI of the docker.io package when there is one (it matches its daemon). */
export function dockerCli(): string {
  return fs.existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
}

function has(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/** Runs the docker CLI; throws with its output on failure. */
export function docker(args: string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}): string {
  const r = spawnSync(dockerCli(), args, {
    input: opts.input,
    timeout: opts.timeoutMs ?? 60_000,
    env: { ...process.env, DOCKER_BUILDKIT: "0", DOCKER_CLI_HINTS: "false" },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) {
    throw new Error(`docker ${args.join(" ")}: ${r.error ?? `exit ${r.status}`}\n${r.stdout}\n${r.stderr}`);
  }
  return String(r.stdout);
}

export function ping(socketPath = DOCKER_SOCKET, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path: "/_ping", timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}

export interface DockerEnv {
  /** why the Docker tests are skipped, when they are */
  skip?: string;
  /** seconds spent installing, starting and importing */
  timings: Record<string, number>;
  stop(): Promise<void>;
}

let daemon: ChildProcess | undefined;

function installDocker(): string | undefined {
  if (has("dockerd")) return undefined;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const install = () => spawnSync("apt-get", ["install", "-y", "-qq", "docker.io"], { env, stdio: "pipe", timeout: 300_000 });
  let r = install();
  if (r.status !== 0) {
    spawnSync("apt-get", ["update", "-qq"], { env, stdio: "pipe", timeout: 300_000 });
    r = install();
  }
  if (r.status !== 0 || !has("dockerd")) return `apt-get could not install docker.io: ${String(r.stderr).trim().split("\n").slice(-3).join(" / ")}`;
  return undefined;
}

async function startDaemon(): Promise<string | undefined> {
  fs.mkdirSync(DATA_ROOT, { recursive: true });
  const log = fs.openSync(path.join(os.tmpdir(), "tetragon-ts-dockerd.log"), "w");
  daemon = spawn("dockerd", [
    "--data-root", DATA_ROOT,
    "--exec-root", EXEC_ROOT,
    "--pidfile", path.join(EXEC_ROOT, "dockerd.pid"),
    "-H", `unix://${DOCKER_SOCKET}`,
    "--iptables=false", "--ip6tables=false", "--bridge=none",
    "--log-level=warn",
  ], { stdio: ["ignore", log, log], detached: false });
  fs.closeSync(log);
  const end = Date.now() + 30_000;
  while (Date.now() < end) {
    if (daemon.exitCode !== null) break;
    if (await ping()) return undefined;
    await new Promise((r) => setTimeout(r, 200));
  }
  const text = fs.readFileSync(path.join(os.tmpdir(), "tetragon-ts-dockerd.log"), "utf8");
  await stopDaemon();
  return `dockerd did not start: ${text.trim().split("\n").slice(-5).join(" / ")}`;
}

async function stopDaemon(): Promise<void> {
  const d = daemon;
  daemon = undefined;
  if (!d || d.exitCode !== null) return;
  const exited = new Promise<void>((r) => d.once("exit", () => r()));
  d.kill("SIGTERM");
  const t = setTimeout(() => d.kill("SIGKILL"), 20_000);
  await exited;
  clearTimeout(t);
}

/** The files of the base image: these programs and every shared library they load. */
const PROGRAMS = [
  "sh", "dash", "bash", "cat", "echo", "true", "false", "sleep", "ls", "env", "id", "head", "tail", "mkdir", "rm",
  "readlink", "dirname", "basename", "cp", "ln", "mv", "chmod", "touch", "wc", "ps", "timeout", "uname", "grep", "mount", "umount", "node",
];

function libsOf(file: string): string[] {
  const r = spawnSync("ldd", [file], { encoding: "utf8" });
  if (r.status !== 0) return [];
  const out: string[] = [];
  for (const line of r.stdout.split("\n")) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m) out.push(m[1]);
  }
  return out;
}

/** Builds the base image's root in a temp dir; `extraLibsOf` adds the libraries of those files. */
export function baseRootfs(extraLibsOf: string[] = []): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tetragon-ts-rootfs-"));
  const files = new Set<string>();
  for (const p of PROGRAMS) {
    const r = spawnSync("bash", ["-c", `type -P ${p}`], { encoding: "utf8" });
    const bin = r.stdout.trim();
    if (r.status !== 0 || !bin.startsWith("/")) continue;
    files.add(bin);
    for (const l of libsOf(bin)) files.add(l);
  }
  for (const f of extraLibsOf) for (const l of libsOf(f)) files.add(l);
  for (const d of ["usr/bin", "usr/sbin", "usr/lib/x86_64-linux-gnu", "usr/lib64", "etc", "tmp", "root", "var/run", "proc", "sys", "dev"]) {
    fs.mkdirSync(path.join(root, d), { recursive: true });
  }
  fs.chmodSync(path.join(root, "tmp"), 0o1777);
  for (const [link, to] of [["bin", "usr/bin"], ["sbin", "usr/sbin"], ["lib", "usr/lib"], ["lib64", "usr/lib64"]]) {
    fs.symlinkSync(to, path.join(root, link));
  }
  for (const f of files) {
    // /bin, /lib and /lib64 are links into /usr on the host as in the image
    const real = f.replace(/^\/(bin|sbin|lib|lib64)\//, "/usr/$1/");
    const dest = path.join(root, real);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(fs.realpathSync(f), dest);
    fs.chmodSync(dest, fs.statSync(fs.realpathSync(f)).mode & 0o7777);
  }
  // /bin/sh as on Debian
  if (!fs.existsSync(path.join(root, "usr/bin/sh")) && fs.existsSync(path.join(root, "usr/bin/dash"))) fs.symlinkSync("dash", path.join(root, "usr/bin/sh"));
  fs.writeFileSync(path.join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
  fs.writeFileSync(path.join(root, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  return root;
}

function imageExists(name: string): boolean {
  return spawnSync(dockerCli(), ["image", "inspect", name], { stdio: "ignore" }).status === 0;
}

/** Imports BASE_IMAGE once (a tar of baseRootfs piped to `docker import`). */
export function ensureBaseImage(extraLibsOf: string[] = []): void {
  if (imageExists(BASE_IMAGE)) return;
  const root = baseRootfs(extraLibsOf);
  try {
    execFileSync("sh", ["-c", `tar -C '${root}' -c . | '${dockerCli()}' import - ${BASE_IMAGE}`], { stdio: "pipe", timeout: 120_000 });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/**
 * Docker for a test file: installed, answering, with the base image. `skip` is set (and
 * nothing is left running) when docker.io cannot be installed or dockerd does not start.
 */
export async function setupDocker(extraLibsOf: string[] = []): Promise<DockerEnv> {
  const timings: Record<string, number> = {};
  const timed = async <T>(what: string, f: () => T | Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await f();
    } finally {
      timings[what] = (Date.now() - t0) / 1000;
    }
  };
  const none = async () => undefined;
  if (process.getuid?.() !== 0) return { skip: "the Docker tests need root", timings, stop: none };
  const installErr = await timed("install", () => installDocker());
  if (installErr) return { skip: installErr, timings, stop: none };
  if (!(await ping())) {
    const err = await timed("dockerd", () => startDaemon());
    if (err) return { skip: err, timings, stop: none };
  }
  await timed("baseImage", () => ensureBaseImage(extraLibsOf));
  return { timings, stop: stopDaemon };
}

/** Removes containers by name, ignoring those that do not exist. */
export function removeContainers(...names: string[]): void {
  if (names.length === 0) return;
  spawnSync(dockerCli(), ["rm", "-f", ...names], { stdio: "ignore", timeout: 30_000 });
}
