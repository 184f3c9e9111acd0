/**
 * Where tetra connects, in Tetragon's order: --server-address, else server_address of
 * <run dir>/tetragon-info.json (run dir: $TETRAGON_RUN_DIR or /var/run/tetragon), else
 * localhost:54321. `:port` dials localhost, as Go does; a host without port gets :54321.
 */
import { DEFAULT_RUN_DIR, infoFilePath, readInitInfo } from "../../../api/server/info-file";

export const DEFAULT_SERVER_ADDRESS = "localhost:54321";

export function resolveServerAddress(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return normalizeDialAddress(flag);
  const info = readInitInfo(infoFilePath(env.TETRAGON_RUN_DIR || DEFAULT_RUN_DIR));
  if (info && typeof info.server_address === "string" && info.server_address !== "") {
    return normalizeDialAddress(info.server_address);
  }
  return DEFAULT_SERVER_ADDRESS;
}

/** The grpc-js target for an address: unix:///path as is, `:port` → localhost:port, `host` → host:54321. */
export function normalizeDialAddress(addr: string): string {
  const a = addr.trim();
  if (a.startsWith("unix:")) return a;
  if (a.startsWith(":")) return `localhost${a}`;
  if (!a.includes(":")) return `${a}:54321`;
  return a;
}
