/**
 * The export's JSON encoder on events as the agent's decoders build them: generic records
 * with every argument type GenericEvents decodes (each KprobeArgument variant, return
 * values, data arguments, process_tracepoint, process_uprobe), exec/exit/procFS events with
 * credentials, namespaces and ancestors, rate_limit_info; each line must equal protobuf-es
 * `toJsonString(GetEventsResponseSchema, ev, { useProtoFieldName: true })`, also when the
 * process's JSON comes from the encoder's memo and when the process changes under one exec_id.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { create, toJsonString } from "@bufbuild/protobuf";
import { GetEventsResponseSchema, RateLimitInfoSchema, type GetEventsResponse } from "../../src/api/gen/tetragon/events_pb";
import { encodeEventJson } from "../../src/encode/json";
import { ProcessCache } from "../../src/process/cache";
import { KtimeClock, nowTimestamp } from "../../src/process/ktime";
import { ProcessEvents } from "../../src/sensors/base/process-events";
import { GenericEvents } from "../../src/sensors/tracing/generic-events";
import { KprobeAction, KprobeArgumentSchema, ProcessKprobeSchema, type ProcessExec, type ProcessKprobe } from "../../src/api/gen/tetragon/tetragon_pb";
import { GT, LIMITS, SOCK_BLOB } from "../../src/decode/generic-layout";
import type { ArgOutput } from "../../src/policy/compiler/plan";
import type { RawCreds, RawNamespaces } from "../../src/decode/process";
import { genericRecord, hookWithMeta, type SlotValue } from "../helpers/generic-record";

const OPTS = { useProtoFieldName: true } as const;
const NODE = "node-ü\"1";

function assertSame(ev: GetEventsResponse, where: string): string {
  const want = toJsonString(GetEventsResponseSchema, ev, OPTS);
  const got = encodeEventJson(ev);
  assert.equal(got, want, where);
  assert.deepEqual(JSON.parse(got), JSON.parse(want), where);
  return got;
}

const creds: RawCreds = {
  uid: 1000, gid: 1000, suid: 0, sgid: 4294967295, euid: 0, egid: 5, fsuid: 1000, fsgid: 1000, securebits: 0x15, userNsLevel: 1,
  capPermitted: 0x1ffffffffffn, capEffective: 0x3n << 20n, capInheritable: 0n,
};
const ns: RawNamespaces = {
  uts: 4026531838, ipc: 4026531839, mnt: 4026531841, pid: 4026531836, pid_for_children: 4026531836, net: 4026531840,
  time: 4026531834, time_for_children: 4026531834, cgroup: 4026531835, user: 4026531837,
};

function world(opts: { ancestors: boolean; cred: boolean; ns: boolean }) {
  const events: GetEventsResponse[] = [];
  const clock = new KtimeClock(1_000_000_000n, 1_769_796_920_123_456_789n);
  const cache = new ProcessCache(1024);
  const pe = new ProcessEvents(cache, {
    nodeName: NODE, clusterName: opts.ancestors ? "cluster-1" : "", ancestors: opts.ancestors, clock,
    enableProcessCred: opts.cred, enableProcessNs: opts.ns, hostNs: { ...ns, net: 1 },
  }, (ev) => events.push(ev));
  const entry = (pid: number, ppid: number, exe: string, argv: string[]) => ({
    pid, ppid, nspid: pid, ktime: BigInt(pid) * 10_000_000n, kernelThread: false, comm: exe.split("/").pop()!, exe, argv, cwd: "/",
    creds, ns, auid: 4294967295, cgroupPath: "/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope",
  });
  pe.handleProcEntry(entry(1, 0, "/usr/lib/systemd/systemd", ["/sbin/init", "splash"]), true, nowTimestamp());
  pe.handleProcEntry(entry(2, 1, "", []), false, nowTimestamp());
  pe.handleProcEntry(entry(100, 1, "/usr/bin/bash", ["bash", "-c", "echo \"hi\" \\ \u00e9\u0007"]), true, nowTimestamp());
  pe.handleExec({
    ktime: 3_000_000_123n, pid: 200, tid: 200, ppid: 100, nspid: 7, auid: 1000, flags: 0x1 | 0x4000, parentKtime: 1_000_000_000n, cgroupId: 9n,
    creds, ns, filename: "./tool", cwd: "/home/ü ser", cgroupName: "session-1.scope", args: ["a b", "", "--x=\"y\"", "日本"], argsTotal: 4,
  });
  return { events, clock, cache, pe };
}

test("exec, exit and procFS events from the process handler encode as protobuf-es writes them", () => {
  for (const opts of [{ ancestors: false, cred: false, ns: false }, { ancestors: true, cred: true, ns: true }]) {
    const w = world(opts);
    w.pe.handleExit({ ktime: 4_000_000_000n, pid: 200, tid: 200, procKtime: 3_000_000_123n, exitCode: 3 << 8 });
    w.pe.handleExit({ ktime: 4_000_000_001n, pid: 100, tid: 101, procKtime: 1_000_000_000n, exitCode: 9 });
    const cases = new Set(w.events.map((e) => e.event.case));
    assert.deepEqual([...cases].sort(), ["processExec", "processExit"]);
    assert.ok(w.events.length >= 5);
    w.events.forEach((ev, i) => assertSame(ev, `${JSON.stringify(opts)} event ${i} ${ev.event.case}`));
    // a second encoding comes from the memo and is the same line
    w.events.forEach((ev, i) => assertSame(ev, `${JSON.stringify(opts)} again ${i}`));
  }
});

const sock = Buffer.alloc(SOCK_BLOB.SIZE);
sock.writeUInt16LE(10, SOCK_BLOB.family);
sock.writeUInt16LE(443, SOCK_BLOB.sport);
sock.writeUInt16LE(51234, SOCK_BLOB.dport);
sock.writeUInt16LE(6, SOCK_BLOB.protocol);
sock.writeUInt16LE(1, SOCK_BLOB.type);
sock.writeUInt16LE(1, SOCK_BLOB.state);
sock.writeUInt32LE(0xffffffff, SOCK_BLOB.mark);
sock.writeUInt32LE(6, SOCK_BLOB.priority);
Buffer.from("20010db8000000000000000000000001", "hex").copy(sock, SOCK_BLOB.saddr);
Buffer.from("00000000000000000000ffff7f000001", "hex").copy(sock, SOCK_BLOB.daddr);
sock.writeBigUInt64LE(18446744073709551615n, SOCK_BLOB.cookie);
const sockaddr = Buffer.alloc(20);
sockaddr.writeUInt16LE(2, 0);
sockaddr.writeUInt16BE(8080, 2);
Buffer.from([10, 0, 0, 255]).copy(sockaddr, 4);

/** [output spec, slot value] for every argument type the decoder knows, with awkward values. */
const ARGS: Array<[Omit<ArgOutput, "slot" | "hidden" | "signed" | "bits">, SlotValue]> = [
  [{ gt: GT.S32, type: "int", label: "neg" }, { value: -5n }],
  [{ gt: GT.S16, type: "int16" }, { value: 0n }],
  [{ gt: GT.S8, type: "int8" }, { value: -128n }],
  [{ gt: GT.U32, type: "uint32" }, { value: 4294967295n }],
  [{ gt: GT.U16, type: "uint16" }, { value: 65535n }],
  [{ gt: GT.U8, type: "uint8" }, { value: 0n }],
  [{ gt: GT.S64, type: "int64", label: "big" }, { value: -9223372036854775808n }],
  [{ gt: GT.U64, type: "uint64" }, { value: 18446744073709551615n }],
  [{ gt: GT.SIZE, type: "size_t" }, { value: 0n }],
  [{ gt: GT.STRING, type: "string", label: "path \"q\"" }, { data: Buffer.from("/tmp/ü\n\t\"x\"\\ 🎉 \u0001") }],
  [{ gt: GT.STRING, type: "string" }, { data: Buffer.alloc(0) }],
  [{ gt: GT.STRING, type: "string" }, { data: Buffer.from([0x66, 0xff, 0xfe, 0x6f]) }],
  [{ gt: GT.KSTRING, type: "string" }, { data: Buffer.from("kernel") }],
  [{ gt: GT.DATA_LOC, type: "string" }, { data: Buffer.from("comm") }],
  [{ gt: GT.FD, type: "fd" }, { value: 3n, data: Buffer.from("/etc/passwd") }],
  [{ gt: GT.FILE, type: "file" }, { data: Buffer.from("") }],
  [{ gt: GT.PATH, type: "path" }, { data: Buffer.from("/var/lib/ü") }],
  [{ gt: GT.BINPRM, type: "linux_binprm" }, { data: Buffer.from("/usr/bin/true") }],
  [{ gt: GT.CHAR_BUF, type: "char_buf" }, { data: Buffer.from([0, 1, 2, 250, 251, 252, 253]) }],
  [{ gt: GT.CHAR_BUF, type: "char_buf" }, { data: Buffer.from("trunc"), origLen: 70000 }],
  [{ gt: GT.CONST_BUF, type: "const_buf" }, { data: Buffer.alloc(0) }],
  [{ gt: GT.CHAR_IOVEC, type: "char_iovec" }, { data: Buffer.from("iov"), origLen: 3 }],
  [{ gt: GT.SOCK, type: "sock" }, { data: sock }],
  [{ gt: GT.SOCK, type: "sock" }, { data: Buffer.alloc(8) }],
  [{ gt: GT.SOCKADDR, type: "sockaddr" }, { data: sockaddr }],
  [{ gt: GT.SYSCALL64, type: "syscall64" }, { value: 59n }],
  [{ gt: GT.CAPABILITY, type: "capability" }, { value: 21n }],
  [{ gt: GT.CAPABILITY, type: "capability" }, { value: 999n }],
  [{ gt: GT.KERNEL_CAP, type: "kernel_cap_t" }, { value: 0x1ffffffffffn }],
  [{ gt: GT.BPF_CMD, type: "bpf_cmd" }, { value: 5n }],
];

test("every argument variant of process_kprobe, process_tracepoint and process_uprobe encodes as protobuf-es writes it", () => {
  const w = world({ ancestors: true, cred: true, ns: true });
  const hooks = [];
  const records: Buffer[] = [];
  // five visible arguments per hook (slots 0..4), the last hook also with a return value and a data argument
  for (let h = 0; h * 5 < ARGS.length; h++) {
    const group = ARGS.slice(h * 5, h * 5 + 5);
    const args: ArgOutput[] = group.map(([o], i) => ({ ...o, slot: i, hidden: false, signed: false, bits: 0 }));
    const kind = (["kprobe", "tracepoint", "uprobe"] as const)[h % 3];
    hooks.push(hookWithMeta({
      kind, args, policyName: `policy-${h}`, functionName: "__x64_sys_openat", subsys: "syscalls", event: "sys_enter_openat",
      path: "/usr/bin/bash", symbol: "readline", message: h % 2 ? "a \"message\"" : "", tags: h % 2 ? ["observability.filesystem", "ü"] : [],
      hasReturn: kind === "kprobe", returnArg: kind === "kprobe" ? { type: "int", gt: GT.S32, signed: true } : undefined,
    }));
    const slots = new Map(group.map(([, v], i) => [i, v] as [number, SlotValue]));
    for (const [pid, procKtime] of [[200, 3_000_000_123n], [100, 0n], [31337, 0n]] as Array<[number, bigint]>) {
      records.push(genericRecord({
        hookId: h, ktime: 5_000_000_000n + BigInt(records.length), pid, tid: pid + 1, procKtime, slots,
        kind: kind === "kprobe" ? "KPROBE" : kind === "tracepoint" ? "TRACEPOINT" : "UPROBE",
        ret: kind === "kprobe" ? -13n : undefined, action: 1 + (records.length % 4),
      }));
    }
  }
  hooks.push(hookWithMeta({
    kind: "kprobe", policyName: "data", functionName: "tcp_connect",
    args: [
      { slot: 0, gt: GT.SOCK, type: "sock", hidden: false, signed: false, bits: 0 },
      { slot: 1, gt: GT.U64, type: "uint64", hidden: true, signed: false, bits: 64 },
      { slot: 2, gt: GT.STRING, type: "string", hidden: false, signed: false, bits: 0, data: true },
    ],
    sockState: "TCP_SYN_SENT", hasReturn: true, returnArg: { type: "char_buf", gt: GT.CHAR_BUF, signed: false },
  }));
  records.push(genericRecord({
    hookId: hooks.length - 1, ktime: 6_000_000_000n, pid: 200, tid: 200, procKtime: 3_000_000_123n,
    slots: new Map([[0, { data: sock }], [1, { value: 7n }], [2, { data: Buffer.from("task") }], [LIMITS.RET_ARG, { data: Buffer.from("ret") }]]), ret: 3n,
  }));
  const out: GetEventsResponse[] = [];
  const ge = new GenericEvents(w.cache, hooks, { nodeName: NODE, clusterName: "c", clock: w.clock, ancestors: { kprobe: true, tracepoint: true, uprobe: true } }, (ev) => out.push(ev), () => undefined);
  for (const r of records) ge.handle(r, new DataView(r.buffer, r.byteOffset, r.byteLength), 0);
  assert.equal(out.length, records.length);
  const variants = new Set<string>();
  for (const [i, ev] of out.entries()) {
    assertSame(ev, `generic event ${i}`);
    const e = ev.event.value as { args?: Array<{ arg: { case?: string } }> };
    for (const a of e.args ?? []) variants.add(a.arg.case ?? "none");
  }
  for (const v of ["intArg", "uintArg", "longArg", "sizeArg", "stringArg", "fileArg", "pathArg", "linuxBinprmArg", "bytesArg",
    "truncatedBytesArg", "sockArg", "sockaddrArg", "syscallId", "capabilityArg", "kernelCapTArg", "bpfCmdArg"]) {
    assert.ok(variants.has(v), `no ${v} argument was produced`);
  }
  assert.deepEqual([...new Set(out.map((e) => e.event.case))].sort(), ["processKprobe", "processTracepoint", "processUprobe"]);
});

test("a process that changes under the same exec_id is encoded anew, not from the memo", () => {
  const w = world({ ancestors: false, cred: false, ns: false });
  const exec = w.events.find((e) => e.event.case === "processExec" && e.event.value.process?.pid === 200)!;
  const p = exec.event.value as { process: Record<string, unknown> };
  const first = assertSame(exec, "first");
  const changes: Array<Record<string, unknown>> = [
    { refcnt: 7 }, { tid: 9 }, { arguments: "changed" }, { flags: "" }, { startTime: { ...(p.process.startTime as object), nanos: 5 } },
    { binary: "/other" }, { refcnt: 0, tid: undefined },
  ];
  for (const c of changes) {
    const ev = { ...exec, event: { case: "processExec", value: { ...p, process: { ...p.process, ...c } } } } as GetEventsResponse;
    const line = assertSame(ev, JSON.stringify(c, (_k, v) => (typeof v === "bigint" ? String(v) : v)));
    assert.notEqual(line, first);
  }
  assertSame(exec, "the original again");
});

test("rate_limit_info encodes as protobuf-es writes it", () => {
  const ev = create(GetEventsResponseSchema, {
    nodeName: NODE, time: nowTimestamp(),
    event: { case: "rateLimitInfo", value: create(RateLimitInfoSchema, { numberOfDroppedProcessEvents: 18446744073709551615n }) },
  });
  assertSame(ev, "rate_limit_info");
});

test("members an event repeats from the one before (cached runs) follow every change of any of them", () => {
  const w = world({ ancestors: false, cred: false, ns: false });
  const execOf = (pid: number) => w.events.find((e) => e.event.case === "processExec" && e.event.value.process?.pid === pid)!;
  const { process, parent } = execOf(200).event.value as ProcessExec;
  const otherProcess = (execOf(100).event.value as ProcessExec).process;
  const k = create(ProcessKprobeSchema, {
    process, parent, functionName: "__x64_sys_openat", policyName: "p1", action: KprobeAction.POST,
    args: [create(KprobeArgumentSchema, { arg: { case: "stringArg", value: "/etc/passwd" } })],
  });
  // each step changes some members of a run (or none), and the next goes back: every line must
  // be what protobuf-es writes, never the previous event's members
  const steps: Array<Partial<ProcessKprobe>> = [
    {}, { functionName: "__x64_sys_other" }, {}, { policyName: "" }, { policyName: "p2", message: "m" }, { action: KprobeAction.UNKNOWN },
    { process: undefined }, { process: undefined, parent: undefined }, { process: undefined, parent: undefined, functionName: "" },
    { parent: otherProcess }, { process: otherProcess, parent: otherProcess }, { returnAction: KprobeAction.POST }, {},
    { process: { ...process! } }, { tags: ["a"], policyName: "" }, {},
  ];
  const lines = new Set<string>();
  for (const [i, c] of steps.entries()) {
    const ev = create(GetEventsResponseSchema, {
      nodeName: i % 3 === 0 ? NODE : "other-node", time: nowTimestamp(), event: { case: "processKprobe", value: { ...k, ...c } },
    });
    lines.add(assertSame(ev, `step ${i}: ${Object.keys(c).join(",") || "as first"}`).replace(/"time":"[^"]*"/, ""));
  }
  assert.ok(lines.size >= 12, `only ${lines.size} different lines`);
});
