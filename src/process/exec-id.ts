/** Tetragon's process identity: base64("<node>:<ktime>:<pid>"). */

// the last one made: every event of a busy process asks for the same id
let lastNode = "", lastKtime = -1n, lastPid = -1, lastId = "";

export function execId(nodeName: string, ktime: bigint, pid: number): string {
  if (ktime === lastKtime && pid === lastPid && nodeName === lastNode) return lastId;
  lastId = Buffer.from(`${nodeName}:${ktime}:${pid}`).toString("base64");
  lastNode = nodeName;
  lastKtime = ktime;
  lastPid = pid;
  return lastId;
}
