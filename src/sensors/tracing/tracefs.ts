/** Tracepoint formats and the syscall tracepoints, read from tracefs. */
import * as fs from "node:fs";
import * as path from "node:path";

export const TRACEFS = "/sys/kernel/tracing";

export interface FormatField {
  /** declaration as written, e.g. "const char * filename" */
  decl: string;
  name: string;
  type: string;
  offset: number;
  size: number;
  signed: boolean;
  /** __data_loc fields hold offset | len << 16 of data stored in the record */
  dataLoc: boolean;
}

export interface TracepointFormat {
  id: number;
  /** all fields, common_* included, in order: a policy's `index` counts them all */
  fields: FormatField[];
  /** bytes from the record start to the end of the last fixed field */
  size: number;
}

const FIELD_RE = /^\s*field:(.+);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/;

export function parseFormat(text: string): TracepointFormat {
  const idm = /^ID:\s*(\d+)/m.exec(text);
  const fields: FormatField[] = [];
  for (const line of text.split("\n")) {
    const m = FIELD_RE.exec(line);
    if (!m) continue;
    const decl = m[1].trim();
    const nm = /([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?$/.exec(decl);
    const name = nm ? nm[1] : decl;
    const type = nm ? decl.slice(0, nm.index).trim() : "";
    fields.push({
      decl, name, type, offset: Number(m[2]), size: Number(m[3]), signed: m[4] === "1",
      dataLoc: decl.startsWith("__data_loc"),
    });
  }
  const size = fields.reduce((a, f) => Math.max(a, f.offset + f.size), 0);
  return { id: idm ? Number(idm[1]) : -1, fields, size };
}

export class TracefsError extends Error {}

export function readFormat(subsystem: string, event: string, root = TRACEFS): TracepointFormat {
  if (!/^[A-Za-z0-9_]+$/.test(subsystem) || !/^[A-Za-z0-9_.-]+$/.test(event)) {
    throw new TracefsError(`tracepoint ${subsystem}/${event}: invalid name`);
  }
  const file = path.join(root, "events", subsystem, event, "format");
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new TracefsError(`tracepoint ${subsystem}/${event} does not exist in ${root}/events`);
    throw new TracefsError(`read ${file}: ${(err as Error).message}`);
  }
  return parseFormat(text);
}

/** Syscall names that have sys_enter_/sys_exit_ tracepoints on this kernel. */
export function syscallNames(root = TRACEFS): string[] {
  try {
    return fs.readdirSync(path.join(root, "events", "syscalls"))
      .filter((n) => n.startsWith("sys_enter_"))
      .map((n) => n.slice("sys_enter_".length))
      .sort();
  } catch {
    return [];
  }
}

/** `sys_openat`, `__x64_sys_openat`, `openat` → `openat`. */
export function syscallBaseName(call: string): string {
  return call.replace(/^__(x64|ia32|arm64|riscv|s390x)_sys_/, "").replace(/^sys_/, "");
}

export function archSyscallPrefix(): string {
  return process.arch === "arm64" ? "__arm64_sys_" : "__x64_sys_";
}
