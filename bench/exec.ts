/**
 * bench/exec: N fork+exec+wait of /bin/true without the agent, with it (export on), and
 * without it again, in one run. Prints the overhead ratio, events seen against execs made,
 * the agent's CPU seconds and its peak RSS. Usage: node dist/bench/exec.js [N]
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as crypto from "node:crypto";
import { startAgent } from "../test/helpers/agent";

const N = Number(process.argv[2] ?? 5000);

function storm(marker: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync("/bin/sh", ["-c", `i=0; while [ $i -lt ${N} ]; do /bin/true ${marker}; i=$((i+1)); done`]);
  if (r.status !== 0) throw new Error(`storm failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function cpuSeconds(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  const base1 = storm(`base-${crypto.randomBytes(3).toString("hex")}`);
  const agent = await startAgent([]);
  const pid = agent.proc.pid!;
  const cpu0 = cpuSeconds(pid);
  const marker = `bench-${crypto.randomBytes(3).toString("hex")}`;
  const withAgent = storm(marker);
  // let the agent drain what the storm produced
  let seen = 0;
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    seen = agent.events().filter((e) => e.process_exec?.process?.arguments === marker).length;
    if (seen >= N) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const cpu = cpuSeconds(pid) - cpu0;
  const rss = peakRssMb(pid);
  const logs = agent.logs();
  await agent.stop();
  const base2 = storm(`base-${crypto.randomBytes(3).toString("hex")}`);
  const base = (base1 + base2) / 2;
  const lost = /events lost in the kernel/.test(logs);
  console.log(`execs                 ${N}`);
  console.log(`without agent         ${base.toFixed(3)} s  (${base1.toFixed(3)} / ${base2.toFixed(3)})`);
  console.log(`with agent            ${withAgent.toFixed(3)} s`);
  console.log(`overhead ratio        ${(withAgent / base).toFixed(3)}  (${(((withAgent / base) - 1) * 100).toFixed(1)} %, target <= 3 %)`);
  console.log(`exec events seen      ${seen} / ${N}${lost ? "  (kernel reported drops)" : ""}`);
  console.log(`agent CPU             ${cpu.toFixed(2)} s  (${((cpu / Math.max(seen, 1)) * 1e6).toFixed(0)} us per exec event incl. its exit)`);
  console.log(`agent peak RSS        ${rss.toFixed(1)} MB (target < 100 MB)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
