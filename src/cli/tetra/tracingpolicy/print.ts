/**
 * `tp list` text output: Tetragon's columns, padded like Go's tabwriter (min width 0,
 * padding 3 spaces).
 */
import {
  TracingPolicyMode, TracingPolicyState, type TracingPolicyStatus,
} from "../../../api/gen/tetragon/sensors_pb";

const HEADER = ["ID", "NAME", "DOMAIN", "STATE", "FILTERID", "NAMESPACE", "SENSORS", "KERNELMEMORY", "MODE", "NPOST", "NENFORCE", "NMONITOR"];

/** Go's humanize: 4458824 → "4.46 MB", 999 → "999 B". */
export function humanizeBytes(b: bigint): string {
  if (b < 1000n) return `${b} B`;
  let div = 1000n;
  let exp = 0;
  for (let n = b / 1000n; n >= 1000n; n /= 1000n) {
    div *= 1000n;
    exp++;
  }
  return `${(Number(b) / Number(div)).toFixed(2)} ${"kMGTPE"[exp]}B`;
}

function enumName(e: Record<number, string>, v: number, prefix: string): string {
  return (e[v] ?? String(v)).toLowerCase().replace(prefix, "");
}

export function tabulate(rows: string[][], padding = 3): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + " ".repeat(widths[i] - [...c].length + padding))).join(""))
    .join("\n") + "\n";
}

export function printPolicies(policies: readonly TracingPolicyStatus[]): string {
  const rows = [HEADER];
  for (const p of policies) {
    const c = p.stats?.actionCounters;
    const n = (...v: (bigint | undefined)[]) => String(v.reduce<bigint>((a, x) => a + (x ?? 0n), 0n));
    rows.push([
      String(p.id), p.name, p.domain,
      enumName(TracingPolicyState as unknown as Record<number, string>, p.state, "tp_state_"),
      String(p.filterId), p.namespace || "(global)", p.sensors.join(","), humanizeBytes(p.kernelMemoryBytes),
      enumName(TracingPolicyMode as unknown as Record<number, string>, p.mode, "tp_mode_"),
      n(c?.post), n(c?.signal, c?.override, c?.notifyEnforcer, c?.set),
      n(c?.monitorSignal, c?.monitorOverride, c?.monitorNotifyEnforcer, c?.monitorSet),
    ]);
  }
  return tabulate(rows);
}
