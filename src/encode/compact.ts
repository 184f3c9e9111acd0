/**
 * Tetragon's compact event format (`tetra getevents -o compact`), one line per event:
 * `<emoji> <label %-7s> <source> <binary> <details>`, where source is the node name, or
 * `namespace/pod` for pod processes. Colours: label blue, source green, binary magenta,
 * details cyan, exit status red. With `timestamps` the line starts with the event time
 * (UTC, nanoseconds). A process whose effective capability list reaches index
 * CAP_SYS_ADMIN gets the `🛑 CAP_SYS_ADMIN` trailer at column 120 (Tetragon tests the
 * list index, not the value). Paths holding spaces or non-printable runes, and arguments
 * holding non-printable runes, are Go-quoted so that they cannot garble the terminal.
 *
 * eventToCompact throws CompactEncodeError for events it cannot render (no process,
 * rate_limit_info, unknown types): tetra skips those, as Tetragon does.
 */
import type { GetEventsResponse } from "../api/gen/tetragon/events_pb";
import { ThrottleType } from "../api/gen/tetragon/events_pb";
import type { Process, ProcessTracepoint } from "../api/gen/tetragon/tetragon_pb";
import { CapabilitiesType } from "../api/gen/tetragon/capabilities_pb";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { Colorer } from "./color";
import { kprobeRow, label } from "./compact-kprobe";
import { quoteIfNeeded, quoteIfUnprintable } from "./go-quote";
import { syscallNameX64 } from "./syscalls-x64";

export class CompactEncodeError extends Error {}

const CAPS_PAD = 120;

/** `name` of a CapabilitiesType value (CAP_SYS_ADMIN), as Go's enum String(). */
function capName(v: number): string {
  return (CapabilitiesType as unknown as Record<number, string>)[v] ?? String(v);
}

/** Tetragon's processCaps: indexes of `effective`, not values, are compared with CAP_SYS_ADMIN. */
function processCaps(p: Process): string {
  const eff = p.cap?.effective ?? [];
  const names: string[] = [];
  for (let i = 0; i < eff.length; i++) if (i === CapabilitiesType.CAP_SYS_ADMIN) names.push(capName(i));
  return names.length ? "🛑 " + names.join(",") : "";
}

function processInfo(c: Colorer, node: string, p: Process): { info: string; caps: string } {
  // a container that only Docker knows (--enable-docker, no pod name): its container name
  const source = p.pod
    ? c.green(p.pod.name === "" && p.pod.namespace === "" && p.pod.container?.name ? p.pod.container.name : `${p.pod.namespace}/${p.pod.name}`)
    : c.green(node);
  return { info: `${source} ${c.magenta(quoteIfNeeded(p.binary))}`, caps: c.magenta(processCaps(p)) };
}

/** Go's `fmt.Sprintf("%s %*s", str, 120-len(str), caps)`: byte length, rune padding. */
export function capTrailer(str: string, caps: string): string {
  if (caps.length === 0) return str;
  const len = Buffer.byteLength(str);
  const width = len < CAPS_PAD ? CAPS_PAD - len : 0;
  const runes = [...caps].length;
  return `${str} ${runes < width ? " ".repeat(width - runes) : ""}${caps}`;
}

function needProcess(p: Process | undefined): Process {
  if (!p) throw new CompactEncodeError("process field is not set");
  return p;
}

function rawSyscallEnter(tp: ProcessTracepoint): string {
  let id = -1;
  let abi = "x64";
  const a = tp.args[0]?.arg;
  if (a?.case === "longArg") id = Number(a.value);
  else if (a?.case === "syscallId") {
    id = a.value.id;
    abi = a.value.abi || "x64";
  }
  const name = abi === "x64" ? syscallNameX64(id) : "";
  return name || "unknown";
}

/** The compact line of one event, without timestamp and newline. */
export function eventToCompact(ev: GetEventsResponse, c: Colorer): string {
  const node = ev.nodeName;
  const e = ev.event;
  switch (e.case) {
    case "test":
      return "TEST EVENT";
    case "processExec": {
      const p = needProcess(e.value.process);
      const { info, caps } = processInfo(c, node, p);
      return capTrailer(`${label(c, "🚀", "process")} ${info} ${c.cyan(quoteIfUnprintable(p.arguments))}`, caps);
    }
    case "processExit": {
      const p = needProcess(e.value.process);
      const { info, caps } = processInfo(c, node, p);
      const status = c.red(e.value.signal !== "" ? e.value.signal : String(e.value.status));
      return capTrailer(`${label(c, "💥", "exit")} ${info} ${c.cyan(quoteIfUnprintable(p.arguments))} ${status}`, caps);
    }
    case "processThrottle": {
      const t = e.value;
      const typ = t.type === ThrottleType.THROTTLE_START ? c.red("START") : t.type === ThrottleType.THROTTLE_STOP ? c.green("STOP ") : "";
      return `${c.red(`🧬 throttle`)} ${typ} ${t.cgroup}`;
    }
    case "processLoader": {
      const p = needProcess(e.value.process);
      const { info, caps } = processInfo(c, node, p);
      const buildid = e.value.buildid.length > 0 ? Buffer.from(e.value.buildid).toString("hex") + " " : "";
      return capTrailer(`${label(c, "🧬", "loader")} ${info} ${buildid}${c.yellow(quoteIfNeeded(e.value.path))}`, caps);
    }
    case "processKprobe": {
      const p = needProcess(e.value.process);
      const { info, caps } = processInfo(c, node, p);
      return capTrailer(kprobeRow(e.value, info, c), caps);
    }
    case "processTracepoint": {
      const tp = e.value;
      const p = needProcess(tp.process);
      const { info, caps } = processInfo(c, node, p);
      if (`${tp.subsys}/${tp.event}` === "raw_syscalls/sys_enter") {
        return capTrailer(`${c.blue(`☎  ${"syscall"}`)} ${info} ${rawSyscallEnter(tp)}`, caps);
      }
      return capTrailer(`${label(c, "⁉️", "tracepoint")} ${info} ${tp.subsys} ${tp.event}`, caps);
    }
    case "processUprobe": {
      const u = e.value;
      const { info, caps } = processInfo(c, node, needProcess(u.process));
      return capTrailer(`${label(c, "🕵️", "uprobe")} ${info} ${quoteIfNeeded(u.path)} ${u.symbol}`, caps);
    }
    case "processLsm": {
      const l = e.value;
      const { info, caps } = processInfo(c, node, needProcess(l.process));
      return capTrailer(`${label(c, "🔒", "LSM")} ${info} ${l.functionName}`, caps);
    }
    case "processUsdt": {
      const u = e.value;
      const { info, caps } = processInfo(c, node, needProcess(u.process));
      return capTrailer(`${label(c, "🕵️", "usdt")} ${info} ${quoteIfNeeded(u.path)} ${u.provider} ${u.name}`, caps);
    }
    default:
      throw new CompactEncodeError(`unknown event type: ${e.case ?? "UNDEF"}`);
  }
}

/** Go's time layout 2006-01-02T15:04:05.000000000Z07:00 in UTC; a missing time is the epoch. */
export function formatTimestamp(t: Timestamp | undefined): string {
  const secs = t ? t.seconds : 0n;
  const nanos = t ? t.nanos : 0;
  const iso = new Date(Number(secs) * 1000).toISOString(); // 1970-01-01T00:00:00.000Z
  return `${iso.slice(0, 19)}.${String(nanos).padStart(9, "0")}Z`;
}

/** Options of the compact encoder. */
export interface CompactOptions {
  colorer: Colorer;
  timestamps?: boolean;
}

/** The full compact output of one event: its line (with optional timestamp) and "\n". */
export function encodeCompact(ev: GetEventsResponse, opts: CompactOptions): string {
  const line = eventToCompact(ev, opts.colorer);
  return (opts.timestamps ? `${formatTimestamp(ev.time)} ${line}` : line) + "\n";
}
