/**
 * The compact rows of kprobe events (Tetragon's pkg/encoder table): one renderer per
 * kernel function, keyed by the function name without its syscall arch prefix.
 * Each renderer returns `<emoji label> <source binary> <details>` without the trailer.
 */
import type { KprobeArgument } from "../api/gen/tetragon/tetragon_pb";
import type { ProcessKprobe } from "../api/gen/tetragon/tetragon_pb";
import type { Colorer } from "./color";
import { quoteIfNeeded } from "./go-quote";

type Args = readonly (KprobeArgument | undefined)[];
type Row = (k: ProcessKprobe, info: string, c: Colorer) => string;

/** `%-7s` of Go: right-padded to 7 runes, never truncated. */
export function pad7(s: string): string {
  const n = [...s].length;
  return n >= 7 ? s : s + " ".repeat(7 - n);
}

export function label(c: Colorer, emoji: string, name: string): string {
  return c.blue(`${emoji} ${pad7(name)}`);
}

const ARCH_PREFIX = /^__(x64|ia32|arm64|riscv|s390x|powerpc|loongarch64)_/;

/** arch.CutSyscallPrefix: `__x64_sys_write` → `sys_write`. */
export function cutSyscallPrefix(fn: string): string {
  return fn.replace(ARCH_PREFIX, "");
}

function arg(args: Args, i: number): KprobeArgument | undefined {
  return args.length > i ? args[i] ?? undefined : undefined;
}

function fileArg(a: KprobeArgument | undefined) {
  return a?.arg.case === "fileArg" ? a.arg.value : undefined;
}

function stringArg(a: KprobeArgument | undefined): string {
  return a?.arg.case === "stringArg" ? a.arg.value : "";
}

function intArg(a: KprobeArgument | undefined): number {
  return a?.arg.case === "intArg" ? a.arg.value : 0;
}

function sizeArg(a: KprobeArgument | undefined): bigint {
  return a?.arg.case === "sizeArg" ? a.arg.value : 0n;
}

function uintArg(a: KprobeArgument | undefined): number {
  return a?.arg.case === "uintArg" ? a.arg.value : 0;
}

function sockText(a: KprobeArgument | undefined): string {
  const s = a?.arg.case === "sockArg" ? a.arg.value : undefined;
  return `tcp ${s?.saddr ?? ""}:${s?.sport ?? 0} -> ${s?.daddr ?? ""}:${s?.dport ?? 0}`;
}

/** The file path of args[i], in cyan, or "" when args[i] is not a file. */
function filePath(args: Args, i: number, c: Colorer): string {
  const f = fileArg(arg(args, i));
  return f ? c.cyan(quoteIfNeeded(f.path)) : "";
}

function readWrite(emoji: string, name: string): Row {
  return (k, info, c) => {
    const file = filePath(k.args, 0, c);
    const bytes = arg(k.args, 2) ? c.cyan(`${sizeArg(arg(k.args, 2))} bytes`) : "";
    return `${label(c, emoji, name)} ${info} ${file} ${bytes}`;
  };
}

function stringAt(i: number): (k: ProcessKprobe, c: Colorer) => string {
  return (k, c) => (arg(k.args, i) ? c.cyan(quoteIfNeeded(stringArg(arg(k.args, i)))) : "");
}

function twoStrings(emoji: string, name: string): Row {
  return (k, info, c) => `${label(c, emoji, name)} ${info} ${stringAt(0)(k, c)} ${stringAt(1)(k, c)}`;
}

function sock(emoji: string, name: string): Row {
  return (k, info, c) => {
    const s = arg(k.args, 0) ? c.cyan(sockText(arg(k.args, 0))) : "";
    return `${label(c, emoji, name)} ${info} ${s}`;
  };
}

/** CLONE_NEW* flag → namespace name (0 = "any"), as sys_setns prints it. */
const NS_NAMES = new Map<number, string>([
  [0, "any"], [0x2000000, "cgroup"], [0x8000000, "ipc"], [0x40000000, "net"], [0x20000, "mnt"],
  [0x20000000, "pid"], [0x80, "time"], [0x10000000, "user"], [0x4000000, "uts"],
]);

const ROWS: ReadonlyMap<string, Row> = new Map<string, Row>([
  ["sys_write", readWrite("📝", "write")],
  ["sys_read", readWrite("📚", "read")],
  ["fd_install", (k, info, c) => `${label(c, "📬", "open")} ${info} ${filePath(k.args, 1, c)}`],
  ["sys_openat", (k, info, c) => `${label(c, "📬\uFE0F", "openat")} ${info} ${stringAt(1)(k, c)}`],
  ["sys_open", (k, info, c) => `${label(c, "📬\uFE0F", "open")} ${info} ${stringAt(1)(k, c)}`],
  ["sys_close", (k, info, c) => `${label(c, "📪", "close")} ${info} ${filePath(k.args, 0, c)}`],
  ["sys_mount", twoStrings("💾", "mount")],
  ["sys_setuid", (k, info, c) => {
    const uid = arg(k.args, 0) ? c.cyan(String(intArg(arg(k.args, 0)))) : "";
    return `${label(c, "🔑", "setuid")} ${info} ${uid}`;
  }],
  ["sys_clock_settime", (_k, info, c) => `${label(c, "⏰", "clock_settime")} ${info}`],
  ["sys_pivot_root", twoStrings("💾", "pivot_root")],
  ["proc_exec_connector", (_k, info, c) => `${label(c, "🔧", "proc_exec_connector")} ${info}`],
  ["sys_setns", (k, info, c) => {
    const ns = arg(k.args, 1) ? NS_NAMES.get(intArg(arg(k.args, 1))) ?? "" : "";
    return `${label(c, "🔧", "setns")} ${info} ${ns}`;
  }],
  ["tcp_connect", sock("🔌", "connect")],
  ["tcp_close", sock("🧹", "close")],
  ["tcp_sendmsg", (k, info, c) => {
    const s = arg(k.args, 0) ? c.cyan(sockText(arg(k.args, 0))) : "";
    const bytes = arg(k.args, 1) ? intArg(arg(k.args, 1)) : 0;
    return `${label(c, "📤", "sendmsg")} ${info} ${s} bytes ${bytes}`;
  }],
  ["bpf_check", (k, info, c) => {
    const a = arg(k.args, 0);
    let attr = "";
    if (a) {
      const b = a.arg.case === "bpfAttrArg" ? a.arg.value : undefined;
      attr = c.cyan(`${b?.ProgType ?? ""} ${b?.ProgName ?? ""} instruction count ${b?.InsnCnt ?? 0}`);
    }
    return `${label(c, "🐝", "bpf_load")} ${info} ${attr}`;
  }],
  ["security_perf_event_alloc", (k, info, c) => {
    const a = arg(k.args, 0);
    let attr = "";
    if (a) {
      const p = a.arg.case === "perfEventArg" ? a.arg.value : undefined;
      attr = c.cyan(`${p?.Type ?? ""} ${p?.KprobeFunc ?? ""}`);
    }
    return `${label(c, "🐝", "perf_event_alloc")} ${info} ${attr}`;
  }],
  ["security_bpf_map_alloc", bpfMapCreate],
  ["security_bpf_map_create", bpfMapCreate],
  ["security_file_permission", (k, info, c) => {
    let event = label(c, "❓", "security_file_permission");
    let attr = "";
    if (k.args.length > 1 && k.args[0] && k.args[1]) {
      const mask = intArg(k.args[1]);
      if (mask === 0x02) event = label(c, "📝", "write");
      else if (mask === 0x04) event = label(c, "📚", "read");
      attr = c.cyan(quoteIfNeeded(fileArg(k.args[0])?.path ?? ""));
    }
    return `${event} ${info} ${attr}`;
  }],
  ["security_mmap_file", (k, info, c) => {
    let event = label(c, "❓", "security_mmap_file");
    let attr = "";
    if (k.args.length > 1 && k.args[0] && k.args[1]) {
      const prot = uintArg(k.args[1]);
      const tag = "mmap-" + (prot & 1 ? "r" : "") + (prot & 2 ? "w" : "") + (prot & 4 ? "x" : "");
      event = label(c, "📝", tag);
      attr = c.cyan(quoteIfNeeded(fileArg(k.args[0])?.path ?? ""));
    }
    return `${event} ${info} ${attr}`;
  }],
  ["security_path_truncate", truncate("security_path_truncate")],
  ["security_file_truncate", truncate("security_file_truncate")],
]);

function bpfMapCreate(k: ProcessKprobe, info: string, c: Colorer): string {
  const a = arg(k.args, 0);
  let attr = "";
  if (a) {
    const m = a.arg.case === "bpfMapArg" ? a.arg.value : undefined;
    attr = c.cyan(
      `${m?.MapType ?? ""} ${m?.MapName ?? ""} key size ${m?.KeySize ?? 0} value size ${m?.ValueSize ?? 0} max entries ${m?.MaxEntries ?? 0}`,
    );
  }
  return `${label(c, "🗺", "bpf_map_create")} ${info} ${attr}`;
}

function truncate(fn: string): Row {
  return (k, info, c) => {
    let event = label(c, "❓", fn);
    let attr = "";
    const a = arg(k.args, 0);
    if (a) {
      const p = a.arg.case === "pathArg" || a.arg.case === "fileArg" ? a.arg.value.path : "";
      attr = c.cyan(quoteIfNeeded(p));
      event = label(c, "📝", "truncate");
    }
    return `${event} ${info} ${attr}`;
  };
}

/** The compact row of a kprobe event (without the capability trailer). */
export function kprobeRow(k: ProcessKprobe, info: string, c: Colorer): string {
  const row = ROWS.get(cutSyscallPrefix(k.functionName));
  if (row) return row(k, info, c);
  return `${label(c, "❓", "syscall")} ${info} ${k.functionName}`;
}
