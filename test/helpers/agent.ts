/**
 * Runs the real agent (dist/src/cli/tetragon/main.js) as a child process for the kernel
 * tests, and reads the events it exports.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { after } from "node:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "../../..");

/** Agents a test left running (it failed before stop()): killed when the file's tests end, or
 * their open pipes would keep the test file's process, and the whole run, waiting. */
const live = new Set<ChildProcess>();
after(() => {
  for (const p of live) p.kill("SIGKILL");
});
export const AGENT_MAIN = path.join(ROOT, "dist/src/cli/tetragon/main.js");

/**
 * Multiplies the agent's start timeout and waitFor's default timeout, for slow machines (the VM
 * suite runs under qemu without KVM): TETRAGON_TS_TIMEOUT_SCALE, default 1.
 */
export const TIMEOUT_SCALE = Math.max(1, Number(process.env.TETRAGON_TS_TIMEOUT_SCALE) || 1);

export type JsonEvent = Record<string, any>;

export interface RunningAgent {
  proc: ChildProcess;
  dir: string;
  exportFile: string;
  /** `unix://<dir>/tetragon.sock` when started with `grpc: true`, else "" */
  serverAddress: string;
  /** the agent's --run-dir (tetragon-info.json) */
  runDir: string;
  /** the agent's --bpf-dir: its pins are under /sys/fs/bpf/<bpfDir> */
  bpfDir: string;
  logs(): string;
  events(): JsonEvent[];
  waitFor(pred: (e: JsonEvent) => boolean, what: string, timeoutMs?: number): Promise<JsonEvent>;
  stop(): Promise<number | null>;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface StartOptions {
  exportFile?: string;
  env?: NodeJS.ProcessEnv;
  /** serve the gRPC API on a unix socket in the agent's temp dir */
  grpc?: boolean;
  /** an explicit --server-address (overrides `grpc`) */
  serverAddress?: string;
}

export async function startAgent(extraArgs: string[] = [], opts: StartOptions = {}): Promise<RunningAgent> {
  const dir = tempDir("tetragon-test-");
  const exportFile = opts.exportFile ?? path.join(dir, "tetragon.log");
  const serverAddress = opts.serverAddress ?? (opts.grpc ? `unix://${path.join(dir, "tetragon.sock")}` : "");
  const defaultBpfDir = `tetragon-test-${process.pid}-${path.basename(dir)}`;
  // the last --bpf-dir wins, as for the agent's own parser
  const bpfDirAt = extraArgs.lastIndexOf("--bpf-dir");
  const bpfDir = bpfDirAt >= 0 ? extraArgs[bpfDirAt + 1] : defaultBpfDir;
  const args = [
    "--max-semi-space-size=16", // as bin/tetragon runs it
    AGENT_MAIN,
    "--export-filename", exportFile,
    "--server-address", serverAddress,
    "--health-server-address", "",
    "--run-dir", dir,
    "--bpf-dir", defaultBpfDir,
    "--config-dir", path.join(dir, "conf.d"),
    ...extraArgs,
  ];
  fs.mkdirSync(path.join(dir, "conf.d"));
  const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env } });
  let logText = "";
  proc.stdout!.on("data", (d) => (logText += d));
  proc.stderr!.on("data", (d) => (logText += d));
  live.add(proc);
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => {
    live.delete(proc);
    resolve(code);
  }));

  await new Promise<void>((resolve, reject) => {
    const startMs = 30000 * TIMEOUT_SCALE;
    const timer = setTimeout(() => reject(new Error(`agent did not start in ${startMs / 1000} s:\n${logText}`)), startMs);
    const check = () => {
      if (logText.includes("agent ready")) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stderr!.on("data", check);
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited with ${code} before it was ready:\n${logText}`));
    });
  });

  let cursor = 0;
  let partial = "";
  const parsed: JsonEvent[] = [];
  const readNew = () => {
    let data: Buffer;
    try {
      data = fs.readFileSync(exportFile);
    } catch {
      return;
    }
    if (data.length < cursor) {
      cursor = 0; // rotated
      partial = "";
    }
    const text = partial + data.subarray(cursor).toString("utf8");
    cursor = data.length;
    const lines = text.split("\n");
    partial = lines.pop() ?? "";
    for (const l of lines) if (l) parsed.push(JSON.parse(l));
  };

  return {
    proc,
    dir,
    exportFile,
    serverAddress,
    runDir: dir,
    bpfDir,
    logs: () => logText,
    events: () => {
      readNew();
      return parsed;
    },
    async waitFor(pred, what, timeoutMs = 10000 * TIMEOUT_SCALE) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        readNew();
        const hit = parsed.find(pred);
        if (hit) return hit;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; ${parsed.length} events seen`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      const code = await exited;
      return code;
    },
  };
}

export const isExec = (e: JsonEvent) => e.process_exec !== undefined;
export const isExit = (e: JsonEvent) => e.process_exit !== undefined;

/**
 * Starts the agent with the given policies (name → YAML) in a --tracing-policy-dir, and checks
 * that none was rejected.
 */
export async function startAgentWithPolicies(dir: string, policies: Record<string, string>, extraArgs: string[] = []): Promise<RunningAgent> {
  const tpdir = path.join(dir, "tp.d");
  fs.mkdirSync(tpdir, { recursive: true });
  for (const [n, text] of Object.entries(policies)) fs.writeFileSync(path.join(tpdir, `${n}.yaml`), text);
  const agent = await startAgent(["--tracing-policy-dir", tpdir, ...extraArgs]);
  if (/tracing policy rejected/.test(agent.logs())) {
    await agent.stop();
    throw new Error(`a policy was rejected:\n${agent.logs()}`);
  }
  return agent;
}
