/**
 * bench/enforce: what enforcement costs calls it does not stop, side by side in one run.
 *   - connect(): no policy, then an Override policy on connect whose selector never matches,
 *     evaluated by the cgroup program alone (its selector looks at the address only), and the
 *     same with the descriptor as a second argument (the syscall hook decides, the cgroup
 *     program looks up deny_map and lets the call go);
 *   - openat() of a file no policy names, with and without an Override policy on openat
 *     (the hook only; fanotify does not watch the file);
 *   - openat() of a file the fanotify guard watches, with a selector that lets this process
 *     through: every open waits for the guard's answer (the fanotify-checked open).
 * Slots alternate (baseline, policy, baseline, ...) over several rounds; figures are medians
 * of the reps and deltas against the baseline slots next to each. One more loop per case runs
 * with kernel.bpf_stats_enabled, for what each BPF program adds per call (run_time_ns over
 * the calls made), which the machine's noise does not reach. Targets from the issue:
 * non-matching network calls under 3 % slower; a fanotify-checked open under 20 µs at the
 * median. Prints figures; asserts nothing.
 * The loop reports its thread's CPU time next to the wall time.
 * Usage (root): node dist/bench/enforce.js [rounds=9] [connect N/rep=2000] [open N/rep=20000] [reps=7]
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const AGENT_MAIN = path.join(ROOT, "dist/src/cli/tetragon/main.js");
const TETRA_MAIN = path.join(ROOT, "dist/src/cli/tetra/main.js");
const ROUNDS = Number(process.argv[2] ?? 9);
const CONNECT_N = Number(process.argv[3] ?? 2000);
const OPEN_N = Number(process.argv[4] ?? 20000);
const REPS = Number(process.argv[5] ?? 7);

const work = fs.mkdtempSync(path.join(os.tmpdir(), "bench-enforce-"));
const LOOP = path.join(work, "enforce-loop");
const PLAIN = path.join(work, "plain");
const WATCHED = path.join(work, "watched");
const SOCK = path.join(work, "tetragon.sock");
// the file the non-matching open policy names lives apart: fanotify watches its directory
const OTHER_DIR = path.join(work, "other");

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Medians over the loop's reps: wall ns per call, and the thread's CPU ns per call. */
function loop(args: string[]): { wall: number; cpu: number } {
  const r = spawnSync(LOOP, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`enforce-loop ${args.join(" ")}: ${r.stderr}`);
  return {
    wall: median([...r.stdout.matchAll(/ ns ([\d.]+)/g)].map((m) => Number(m[1]))),
    cpu: median([...r.stdout.matchAll(/ cpu ([\d.]+)/g)].map((m) => Number(m[1]))),
  };
}

/** run_time_ns and run_cnt of the loaded programs, by id and name. */
function progStats(): Map<number, { name: string; ns: number; runs: number }> {
  const r = spawnSync("bpftool", ["prog", "show", "-j"], { encoding: "utf8", maxBuffer: 64 << 20 });
  const out = new Map<number, { name: string; ns: number; runs: number }>();
  for (const p of JSON.parse(r.stdout || "[]") as Array<{ id: number; name?: string; run_time_ns?: number; run_cnt?: number }>) {
    out.set(p.id, { name: p.name ?? "", ns: p.run_time_ns ?? 0, runs: p.run_cnt ?? 0 });
  }
  return out;
}

/** ns each program ran per call while `run` made `calls` calls with BPF run-time stats on. */
function bpfPerCall(calls: number, run: () => void): Array<{ name: string; ns: number; runsPerCall: number }> {
  const before = progStats();
  fs.writeFileSync("/proc/sys/kernel/bpf_stats_enabled", "1");
  try {
    run();
  } finally {
    fs.writeFileSync("/proc/sys/kernel/bpf_stats_enabled", "0");
  }
  const out: Array<{ name: string; ns: number; runsPerCall: number }> = [];
  for (const [id, a] of progStats()) {
    const b = before.get(id) ?? { ns: 0, runs: 0 };
    const runs = a.runs - b.runs;
    if (runs > 0 && /^(generic|deny|enforcer)/.test(a.name)) out.push({ name: a.name, ns: (a.ns - b.ns) / calls, runsPerCall: runs / calls });
  }
  return out;
}

function tetra(...args: string[]): void {
  const r = spawnSync(process.execPath, [TETRA_MAIN, "--server-address", `unix://${SOCK}`, ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tetra ${args.join(" ")}: ${r.stderr}`);
}

const policy = (name: string, body: string) => {
  const f = path.join(work, `${name}.yaml`);
  fs.writeFileSync(f, `apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: "${name}"\nspec:\n  kprobes:\n${body}`);
  return f;
};

const connectBody = (moreArgs: string) => `  - call: "sys_connect"
    syscall: true
    args:
${moreArgs}    - index: 1
      type: "sockaddr"
    selectors:
    - matchArgs:
      - index: 1
        operator: "SPort"
        values: ["1"]
      matchActions:
      - action: Override
        argError: -1
`;
const CONNECT = policy("bench-connect", connectBody(""));
// the same selector with the descriptor as an argument: the cgroup program cannot supply it,
// so the syscall tracepoint hook decides and leaves its decision to the cgroup program
const CONNECT_SYSCALL = policy("bench-connect-syscall", connectBody('    - index: 0\n      type: "int"\n'));
const OPEN_OTHER = policy("bench-open-other", `  - call: "sys_openat"
    syscall: true
    args:
    - index: 1
      type: "string"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Equal"
        values: ["${path.join(OTHER_DIR, "never-opened")}"]
      matchActions:
      - action: Override
        argError: -1
`);
const OPEN_WATCHED = policy("bench-open-watched", `  - call: "sys_openat"
    syscall: true
    args:
    - index: 1
      type: "string"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Equal"
        values: ["${WATCHED}"]
      matchBinaries:
      - operator: "NotIn"
        values: ["${LOOP}"]
      matchActions:
      - action: Override
        argError: -1
`);

async function main(): Promise<void> {
  const cc = spawnSync("gcc", ["-O2", "-o", LOOP, path.join(ROOT, "bench/enforce-loop.c")], { encoding: "utf8" });
  if (cc.status !== 0) throw new Error(`gcc: ${cc.stderr}`);
  fs.writeFileSync(PLAIN, "x");
  fs.mkdirSync(OTHER_DIR);
  fs.writeFileSync(WATCHED, "x");
  const agent: ChildProcess = spawn(process.execPath, [AGENT_MAIN, "--server-address", `unix://${SOCK}`, "--bpf-dir", `tetragon-bench-${process.pid}`,
    "--export-filename", path.join(work, "events.log"), "--run-dir", work], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  agent.stderr!.on("data", (d) => { log += d; });
  for (let i = 0; i < 300 && !fs.existsSync(SOCK); i++) await new Promise((r) => setTimeout(r, 100));
  if (!fs.existsSync(SOCK)) throw new Error(`the agent did not start:\n${log}`);
  type Loop = { wall: number; cpu: number };
  const rows: Record<string, { base: Loop[]; on: Loop[]; bpf: Array<Array<{ name: string; ns: number; runsPerCall: number }>> }> = {};
  const measure = (name: string, file: string, calls: number, run: () => Loop) => {
    const r = (rows[name] ??= { base: [], on: [], bpf: [] });
    r.base.push(run());
    tetra("tracingpolicy", "add", file);
    try {
      r.on.push(run());
      r.bpf.push(bpfPerCall(calls, run));
    } finally {
      tetra("tracingpolicy", "delete", file.replace(/^.*\/(.*)\.yaml$/, "$1"));
    }
  };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      measure("connect(), Override not matching, in the cgroup program", CONNECT, CONNECT_N * REPS, () => loop(["connect", String(CONNECT_N), String(REPS)]));
      measure("connect(), Override not matching, syscall hook", CONNECT_SYSCALL, CONNECT_N * REPS, () => loop(["connect", String(CONNECT_N), String(REPS)]));
      measure("openat() of an unwatched file, Override policy on openat", OPEN_OTHER, OPEN_N * REPS, () => loop(["open", PLAIN, String(OPEN_N), String(REPS)]));
      measure("openat() of a fanotify-watched file, allowed", OPEN_WATCHED, OPEN_N * REPS, () => loop(["open", WATCHED, String(OPEN_N), String(REPS)]));
    }
  } finally {
    agent.kill("SIGTERM");
    await new Promise((r) => agent.once("exit", r));
  }
  console.log(`bench/enforce: ${ROUNDS} rounds, medians of ${REPS} reps per slot (ns per call: wall time, and the calling thread's CPU time)`);
  console.log("case".padEnd(58) + "baseline".padStart(10) + "policy".padStart(10) + "delta".padStart(10) + "ratio".padStart(9) + "   cpu: base".padStart(13) + "policy".padStart(9) + "ratio".padStart(8));
  for (const [name, r] of Object.entries(rows)) {
    const b = median(r.base.map((x) => x.wall));
    const p = median(r.on.map((x) => x.wall));
    const cb = median(r.base.map((x) => x.cpu));
    const cp = median(r.on.map((x) => x.cpu));
    console.log(name.padEnd(58) + b.toFixed(0).padStart(10) + p.toFixed(0).padStart(10) + `${p - b >= 0 ? "+" : ""}${(p - b).toFixed(0)}`.padStart(10) + (p / b).toFixed(3).padStart(9)
      + cb.toFixed(0).padStart(13) + cp.toFixed(0).padStart(9) + (cp / cb).toFixed(3).padStart(8));
  }
  console.log("\nwall-time ratio per round (policy slot / the baseline slot before it): median [min .. max]");
  for (const [name, r] of Object.entries(rows)) {
    const ratios = r.on.map((x, i) => x.wall / r.base[i].wall).sort((a, b) => a - b);
    console.log(`${name}: ${median(ratios).toFixed(3)} [${ratios[0].toFixed(3)} .. ${ratios[ratios.length - 1].toFixed(3)}] over ${ratios.length} rounds`);
  }
  console.log("\nBPF run time per call (kernel stats over one more loop; every run on the machine counts, \"runs\" says how many per call)");
  for (const [name, r] of Object.entries(rows)) {
    const names = [...new Set(r.bpf.flat().map((x) => x.name))].sort();
    const parts = names.map((n) => {
      const xs = r.bpf.map((round) => round.filter((x) => x.name === n).reduce((a, x) => ({ ns: a.ns + x.ns, runs: a.runs + x.runsPerCall }), { ns: 0, runs: 0 }));
      return `${n} ${median(xs.map((x) => x.ns)).toFixed(0)} ns (${median(xs.map((x) => x.runs)).toFixed(2)} runs)`;
    });
    const total = median(r.bpf.map((round) => round.reduce((a, x) => a + x.ns, 0)));
    const base = median(r.base.map((x) => x.wall));
    console.log(`${name}: ${total.toFixed(0)} ns = ${(100 * total / base).toFixed(1)} % of the baseline call; ${parts.join(", ")}`);
  }
  console.log("targets: non-matching connect < 1.03x; a fanotify-checked open's added latency (delta) < 20000 ns at the median");
  fs.rmSync(work, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
