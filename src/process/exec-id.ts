/** Tetragon's process identity: base64("<node>:<ktime>:<pid>"). */
export function execId(nodeName: string, ktime: bigint, pid: number): string {
  return Buffer.from(`${nodeName}:${ktime}:${pid}`).toString("base64");
}
