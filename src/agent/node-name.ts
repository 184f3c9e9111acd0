import * as os from "node:os";

/** The node name in exec_ids and events: HUBBLE_NODE_NAME, else NODE_NAME, else the hostname. */
export function nodeName(env: NodeJS.ProcessEnv = process.env): string {
  return env.HUBBLE_NODE_NAME || env.NODE_NAME || os.hostname();
}
