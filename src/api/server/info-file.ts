/**
 * <run dir>/tetragon-info.json, as Tetragon writes it at start (pkg/bugtool InitInfo):
 * one JSON object, Go field order, followed by a newline. `tetra` reads server_address
 * from it. The agent removes it on stop unless another agent has rewritten it since.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export const DEFAULT_RUN_DIR = "/var/run/tetragon";
export const INFO_FILE_NAME = "tetragon-info.json";
export const DEFAULT_SOCKET_NAME = "tetragon.sock";

export interface InitInfo {
  export_fname: string;
  lib_dir: string;
  btf_fname: string;
  server_address: string;
  metrics_address: string;
  gops_address: string;
  map_dir: string;
  bpftool_path: string;
  gops_path: string;
  pid: number;
}

export function infoFilePath(runDir: string): string {
  return path.join(runDir, INFO_FILE_NAME);
}

/** The first executable `name` on $PATH, or "". */
export function lookPath(name: string, envPath = process.env.PATH ?? ""): string {
  for (const dir of envPath.split(":")) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return "";
}

export function writeInitInfo(file: string, info: InitInfo): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(info) + "\n", { mode: 0o644 });
  fs.renameSync(tmp, file);
}

export function readInitInfo(file: string): Partial<InitInfo> | undefined {
  try {
    const v = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
    return v && typeof v === "object" ? (v as Partial<InitInfo>) : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the file if it still describes process `pid`. */
export function removeInitInfo(file: string, pid: number): void {
  const info = readInitInfo(file);
  if (info && info.pid !== pid) return;
  try {
    fs.unlinkSync(file);
  } catch {
    // already gone
  }
}
