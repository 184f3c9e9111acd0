/**
 * The compact encoder against Tetragon's test oracles (pkg/encoder/encoder_test.go) and
 * the emoji table of the reference: exec/exit rows, kprobe and tracepoint rows, colours,
 * timestamps, the CAP_SYS_ADMIN trailer and quoting.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { GetEventsResponseSchema, ThrottleType, type GetEventsResponse } from "../../src/api/gen/tetragon/events_pb";
import { CapabilitiesType } from "../../src/api/gen/tetragon/capabilities_pb";
import { encodeCompact, eventToCompact, capTrailer, formatTimestamp, CompactEncodeError } from "../../src/encode/compact";
import { newColorer } from "../../src/encode/color";
import { goQuote, quoteIfNeeded } from "../../src/encode/go-quote";

const never = newColorer("never");
const always = newColorer("always");

function ev(init: MessageInitShape<typeof GetEventsResponseSchema>): GetEventsResponse {
  return create(GetEventsResponseSchema, init);
}

const curl = { binary: "/usr/bin/curl", arguments: "cilium.io" };
const podCurl = { ...curl, pod: { namespace: "kube-system", name: "tetragon" } };

function kprobe(functionName: string, args: unknown[] = [], process: object = podCurl): GetEventsResponse {
  return ev({ event: { case: "processKprobe", value: { process, functionName, args: args as never } } });
}

test("exec without pod: node name is the source (Tetragon oracle)", () => {
  const e = ev({ nodeName: "my-node", event: { case: "processExec", value: { process: curl } } });
  assert.equal(eventToCompact(e, never), "🚀 process my-node /usr/bin/curl cilium.io");
});

test("exec with pod: namespace/pod is the source", () => {
  const e = ev({ nodeName: "my-node", event: { case: "processExec", value: { process: podCurl } } });
  assert.equal(eventToCompact(e, never), "🚀 process kube-system/tetragon /usr/bin/curl cilium.io");
});

test("exit with status and with signal (Tetragon oracles)", () => {
  const st = ev({ event: { case: "processExit", value: { process: podCurl, status: 1 } } });
  assert.equal(eventToCompact(st, never), "💥 exit    kube-system/tetragon /usr/bin/curl cilium.io 1");
  const sig = ev({ event: { case: "processExit", value: { process: podCurl, signal: "SIGKILL" } } });
  assert.equal(eventToCompact(sig, never), "💥 exit    kube-system/tetragon /usr/bin/curl cilium.io SIGKILL");
});

test("events without process, without payload, and rate_limit_info are errors (skipped by tetra)", () => {
  assert.throws(() => eventToCompact(ev({ event: { case: "processExec", value: {} } }), never), CompactEncodeError);
  assert.throws(() => eventToCompact(ev({}), never), CompactEncodeError);
  assert.throws(() => eventToCompact(ev({ event: { case: "rateLimitInfo", value: { numberOfDroppedProcessEvents: 3n } } }), never), CompactEncodeError);
});

test("encode adds the newline, and --timestamps the UTC time with nanoseconds", () => {
  const e = ev({ event: { case: "processExec", value: { process: podCurl } } });
  assert.equal(encodeCompact(e, { colorer: never }), "🚀 process kube-system/tetragon /usr/bin/curl cilium.io\n");
  e.time = timestampFromMs(0);
  assert.equal(encodeCompact(e, { colorer: never, timestamps: true }), "1970-01-01T00:00:00.000000000Z 🚀 process kube-system/tetragon /usr/bin/curl cilium.io\n");
  assert.equal(formatTimestamp({ ...timestampFromMs(0), seconds: 1668742578n, nanos: 273546829 }), "2022-11-18T03:36:18.273546829Z");
  assert.equal(formatTimestamp(undefined), "1970-01-01T00:00:00.000000000Z");
});

test("kprobe rows: open, write, close, unknown function", () => {
  assert.equal(eventToCompact(kprobe("fd_install"), never), "📬 open    kube-system/tetragon /usr/bin/curl ");
  assert.equal(
    eventToCompact(kprobe("fd_install", [{}, { arg: { case: "fileArg", value: { path: "/etc/password" } } }]), never),
    "📬 open    kube-system/tetragon /usr/bin/curl /etc/password",
  );
  assert.equal(eventToCompact(kprobe("__x64_sys_write"), never), "📝 write   kube-system/tetragon /usr/bin/curl  ");
  assert.equal(
    eventToCompact(kprobe("__x64_sys_write", [
      { arg: { case: "fileArg", value: { path: "/etc/password" } } }, {}, { arg: { case: "sizeArg", value: 1234n } },
    ]), never),
    "📝 write   kube-system/tetragon /usr/bin/curl /etc/password 1234 bytes",
  );
  assert.equal(
    eventToCompact(kprobe("__arm64_sys_read", [{ arg: { case: "fileArg", value: { path: "/etc/x" } } }, {}, { arg: { case: "sizeArg", value: 5n } }]), never),
    "📚 read    kube-system/tetragon /usr/bin/curl /etc/x 5 bytes",
  );
  assert.equal(eventToCompact(kprobe("__x64_sys_close"), never), "📪 close   kube-system/tetragon /usr/bin/curl ");
  assert.equal(eventToCompact(kprobe("unhandled_function"), never), "❓ syscall kube-system/tetragon /usr/bin/curl unhandled_function");
});

test("kprobe rows: openat, mount, setuid, setns, clock_settime", () => {
  const s = (v: string) => ({ arg: { case: "stringArg", value: v } });
  assert.equal(eventToCompact(kprobe("__x64_sys_openat", [{}, s("/etc/passwd")]), never), "📬\uFE0F openat  kube-system/tetragon /usr/bin/curl /etc/passwd");
  assert.equal(eventToCompact(kprobe("__x64_sys_mount", [s("tmpfs"), s("/mnt")]), never), "💾 mount   kube-system/tetragon /usr/bin/curl tmpfs /mnt");
  assert.equal(eventToCompact(kprobe("__x64_sys_setuid", [{ arg: { case: "intArg", value: 0 } }]), never), "🔑 setuid  kube-system/tetragon /usr/bin/curl 0");
  assert.equal(
    eventToCompact(kprobe("__x64_sys_setns", [{ arg: { case: "intArg", value: 3 } }, { arg: { case: "intArg", value: 0x40000000 } }]), never),
    "🔧 setns   kube-system/tetragon /usr/bin/curl net",
  );
  assert.equal(eventToCompact(kprobe("__x64_sys_clock_settime"), never), "⏰ clock_settime kube-system/tetragon /usr/bin/curl");
});

test("kprobe rows: tcp_connect, tcp_sendmsg, bpf_check, file permission and mmap", () => {
  const sock = { arg: { case: "sockArg", value: { saddr: "10.0.0.1", sport: 40000, daddr: "1.1.1.1", dport: 443 } } };
  assert.equal(eventToCompact(kprobe("tcp_connect", [sock]), never), "🔌 connect kube-system/tetragon /usr/bin/curl tcp 10.0.0.1:40000 -> 1.1.1.1:443");
  assert.equal(eventToCompact(kprobe("tcp_close", [sock]), never), "🧹 close   kube-system/tetragon /usr/bin/curl tcp 10.0.0.1:40000 -> 1.1.1.1:443");
  assert.equal(
    eventToCompact(kprobe("tcp_sendmsg", [sock, { arg: { case: "intArg", value: 517 } }]), never),
    "📤 sendmsg kube-system/tetragon /usr/bin/curl tcp 10.0.0.1:40000 -> 1.1.1.1:443 bytes 517",
  );
  assert.equal(
    eventToCompact(kprobe("bpf_check", [{ arg: { case: "bpfAttrArg", value: { ProgType: "BPF_PROG_TYPE_KPROBE", ProgName: "p", InsnCnt: 9 } } }]), never),
    "🐝 bpf_load kube-system/tetragon /usr/bin/curl BPF_PROG_TYPE_KPROBE p instruction count 9",
  );
  const file = { arg: { case: "fileArg", value: { path: "/etc/shadow" } } };
  assert.equal(eventToCompact(kprobe("security_file_permission", [file, { arg: { case: "intArg", value: 2 } }]), never), "📝 write   kube-system/tetragon /usr/bin/curl /etc/shadow");
  assert.equal(eventToCompact(kprobe("security_file_permission", [file, { arg: { case: "intArg", value: 4 } }]), never), "📚 read    kube-system/tetragon /usr/bin/curl /etc/shadow");
  assert.equal(eventToCompact(kprobe("security_mmap_file", [file, { arg: { case: "uintArg", value: 5 } }]), never), "📝 mmap-rx kube-system/tetragon /usr/bin/curl /etc/shadow");
  assert.equal(
    eventToCompact(kprobe("security_path_truncate", [{ arg: { case: "pathArg", value: { path: "/tmp/f" } } }]), never),
    "📝 truncate kube-system/tetragon /usr/bin/curl /tmp/f",
  );
});

test("tracepoint rows: raw_syscalls/sys_enter names the syscall, others print subsys and event", () => {
  const tp = (subsys: string, event: string, args: unknown[] = []) =>
    ev({ event: { case: "processTracepoint", value: { process: podCurl, subsys, event, args: args as never } } });
  assert.equal(eventToCompact(tp("raw_syscalls", "sys_enter", [{ arg: { case: "longArg", value: 59n } }]), never), "☎  syscall kube-system/tetragon /usr/bin/curl execve");
  assert.equal(eventToCompact(tp("sched", "sched_switch"), never), "⁉️ tracepoint kube-system/tetragon /usr/bin/curl sched sched_switch");
});

test("throttle, uprobe, lsm and loader rows", () => {
  assert.equal(eventToCompact(ev({ event: { case: "processThrottle", value: { type: ThrottleType.THROTTLE_START, cgroup: "/a" } } }), never), "🧬 throttle START /a");
  assert.equal(
    eventToCompact(ev({ event: { case: "processUprobe", value: { process: podCurl, path: "/lib/libc.so", symbol: "malloc" } } }), never),
    "🕵️ uprobe  kube-system/tetragon /usr/bin/curl /lib/libc.so malloc",
  );
  assert.equal(eventToCompact(ev({ event: { case: "processLsm", value: { process: podCurl, functionName: "file_open" } } }), never), "🔒 LSM     kube-system/tetragon /usr/bin/curl file_open");
  assert.equal(
    eventToCompact(ev({ event: { case: "processLoader", value: { process: podCurl, path: "/lib/x.so", buildid: new Uint8Array([0xab, 0x01]) } } }), never),
    "🧬 loader  kube-system/tetragon /usr/bin/curl ab01 /lib/x.so",
  );
});

test("colours: label blue, source green, binary magenta, details cyan, status red", () => {
  const e = ev({ nodeName: "n", event: { case: "processExit", value: { process: curl, signal: "SIGKILL" } } });
  const line = eventToCompact(e, always);
  const str = "\x1b[34m💥 exit   \x1b[0m \x1b[32mn\x1b[0m \x1b[35m/usr/bin/curl\x1b[0m \x1b[36mcilium.io\x1b[0m \x1b[31mSIGKILL\x1b[0m";
  // Tetragon's empty caps string is still coloured, so every coloured line is padded to column 120
  const emptyCaps = "\x1b[35m\x1b[0m";
  assert.equal(line, `${str} ${" ".repeat(120 - Buffer.byteLength(str) - [...emptyCaps].length)}${emptyCaps}`);
  assert.equal(newColorer("auto", false).enabled, false);
  assert.equal(newColorer("auto", true, {}).enabled, true);
  assert.equal(newColorer("auto", true, { NO_COLOR: "1" }).enabled, false);
});

test("CAP_SYS_ADMIN trailer when the effective list reaches index 21, padded to column 120", () => {
  const all = Array.from({ length: 41 }, (_, i) => i as CapabilitiesType);
  const e = ev({ nodeName: "n", event: { case: "processExec", value: { process: { ...curl, cap: { effective: all } } } } });
  const line = eventToCompact(e, never);
  assert.ok(line.endsWith("🛑 CAP_SYS_ADMIN"));
  assert.ok(line.startsWith("🚀 process n /usr/bin/curl cilium.io "));
  const few = ev({ nodeName: "n", event: { case: "processExec", value: { process: { ...curl, cap: { effective: [CapabilitiesType.CAP_SYS_ADMIN] } } } } });
  assert.equal(eventToCompact(few, never), "🚀 process n /usr/bin/curl cilium.io");
  assert.equal(capTrailer("abc", "XY"), "abc " + " ".repeat(117 - 2) + "XY");
});

test("Go quoting of paths with spaces or control characters", () => {
  assert.equal(goQuote('a "b"\n\x1b'), '"a \\"b\\"\\n\\x1b"');
  assert.equal(goQuote("é😀\u200b"), '"é😀\\u200b"');
  assert.equal(quoteIfNeeded("/usr/bin/curl"), "/usr/bin/curl");
  assert.equal(quoteIfNeeded("/tmp/my dir/x"), '"/tmp/my dir/x"');
  const e = ev({ nodeName: "n", event: { case: "processExec", value: { process: { binary: "/tmp/a b", arguments: 'x "y z"' } } } });
  assert.equal(eventToCompact(e, never), '🚀 process n "/tmp/a b" x "y z"');
  const esc = ev({ nodeName: "n", event: { case: "processExec", value: { process: { binary: "/bin/echo", arguments: "\x1b[2J" } } } });
  assert.equal(eventToCompact(esc, never), '🚀 process n /bin/echo "\\x1b[2J"');
});
