/**
 * Kernel-object arguments of kernel-function hooks (cred, skb, bpf_map, module, ...): the
 * blobs the BPF side writes (bpf/events/generic.h), decoded into Tetragon's KprobeArgument
 * variants.
 */
import { fastCreate } from "../../api/fast-create";
import {
  CapabilitiesSchema, KernelModuleSchema, KprobeBpfAttrSchema, KprobeBpfMapSchema, KprobeBpfProgSchema, KprobeFileSchema,
  KprobeNetDevSchema, KprobePathSchema, KprobePerfEventSchema, KprobeSkbSchema, NamespaceSchema, ProcessCredentialsSchema,
  TaintedBitsType, UserNamespaceSchema, type KprobeArgument, type UserNamespace,
} from "../../api/gen/tetragon/tetragon_pb";
import {
  BPF_MAP_BLOB, BPF_PROG_BLOB, CRED_BLOB, GT, MODULE_BLOB, PERF_EVENT_BLOB, SKB_BLOB, SOCK_BLOB, USER_NS_BLOB,
} from "../../decode/generic-layout";
import { capsFromMask, securebitsList } from "../../process/capabilities";

const PROG_TYPES = [
  "BPF_PROG_TYPE_UNSPEC", "BPF_PROG_TYPE_SOCKET_FILTER", "BPF_PROG_TYPE_KPROBE", "BPF_PROG_TYPE_SCHED_CLS",
  "BPF_PROG_TYPE_SCHED_ACT", "BPF_PROG_TYPE_TRACEPOINT", "BPF_PROG_TYPE_XDP", "BPF_PROG_TYPE_PERF_EVENT",
  "BPF_PROG_TYPE_CGROUP_SKB", "BPF_PROG_TYPE_CGROUP_SOCK", "BPF_PROG_TYPE_LWT_IN", "BPF_PROG_TYPE_LWT_OUT",
  "BPF_PROG_TYPE_LWT_XMIT", "BPF_PROG_TYPE_SOCK_OPS", "BPF_PROG_TYPE_SK_SKB", "BPF_PROG_TYPE_CGROUP_DEVICE",
  "BPF_PROG_TYPE_SK_MSG", "BPF_PROG_TYPE_RAW_TRACEPOINT", "BPF_PROG_TYPE_CGROUP_SOCK_ADDR",
  "BPF_PROG_TYPE_LWT_SEG6LOCAL", "BPF_PROG_TYPE_LIRC_MODE2", "BPF_PROG_TYPE_SK_REUSEPORT", "BPF_PROG_TYPE_FLOW_DISSECTOR",
  "BPF_PROG_TYPE_CGROUP_SYSCTL", "BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE", "BPF_PROG_TYPE_CGROUP_SOCKOPT",
  "BPF_PROG_TYPE_TRACING", "BPF_PROG_TYPE_STRUCT_OPS", "BPF_PROG_TYPE_EXT", "BPF_PROG_TYPE_LSM", "BPF_PROG_TYPE_SK_LOOKUP",
  "BPF_PROG_TYPE_SYSCALL", "BPF_PROG_TYPE_NETFILTER",
];

const MAP_TYPES = [
  "BPF_MAP_TYPE_UNSPEC", "BPF_MAP_TYPE_HASH", "BPF_MAP_TYPE_ARRAY", "BPF_MAP_TYPE_PROG_ARRAY", "BPF_MAP_TYPE_PERF_EVENT_ARRAY",
  "BPF_MAP_TYPE_PERCPU_HASH", "BPF_MAP_TYPE_PERCPU_ARRAY", "BPF_MAP_TYPE_STACK_TRACE", "BPF_MAP_TYPE_CGROUP_ARRAY",
  "BPF_MAP_TYPE_LRU_HASH", "BPF_MAP_TYPE_LRU_PERCPU_HASH", "BPF_MAP_TYPE_LPM_TRIE", "BPF_MAP_TYPE_ARRAY_OF_MAPS",
  "BPF_MAP_TYPE_HASH_OF_MAPS", "BPF_MAP_TYPE_DEVMAP", "BPF_MAP_TYPE_SOCKMAP", "BPF_MAP_TYPE_CPUMAP", "BPF_MAP_TYPE_XSKMAP",
  "BPF_MAP_TYPE_SOCKHASH", "BPF_MAP_TYPE_CGROUP_STORAGE", "BPF_MAP_TYPE_REUSEPORT_SOCKARRAY",
  "BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE", "BPF_MAP_TYPE_QUEUE", "BPF_MAP_TYPE_STACK", "BPF_MAP_TYPE_SK_STORAGE",
  "BPF_MAP_TYPE_DEVMAP_HASH", "BPF_MAP_TYPE_STRUCT_OPS", "BPF_MAP_TYPE_RINGBUF", "BPF_MAP_TYPE_INODE_STORAGE",
  "BPF_MAP_TYPE_TASK_STORAGE", "BPF_MAP_TYPE_BLOOM_FILTER", "BPF_MAP_TYPE_USER_RINGBUF", "BPF_MAP_TYPE_CGRP_STORAGE",
  "BPF_MAP_TYPE_ARENA",
];

const PERF_TYPES = ["PERF_TYPE_HARDWARE", "PERF_TYPE_SOFTWARE", "PERF_TYPE_TRACEPOINT", "PERF_TYPE_HW_CACHE", "PERF_TYPE_RAW", "PERF_TYPE_BREAKPOINT"];
const FAMILY: Record<number, string> = { 2: "AF_INET", 10: "AF_INET6" };
const PROTOCOLS: Record<number, string> = { 1: "IPPROTO_ICMP", 6: "IPPROTO_TCP", 17: "IPPROTO_UDP", 58: "IPPROTO_ICMPV6", 132: "IPPROTO_SCTP" };
const TAINT_BITS = Object.values(TaintedBitsType).filter((v): v is number => typeof v === "number" && v > 0);

function cstr(data: Buffer, off: number, len: number): string {
  const b = data.subarray(off, off + len);
  const nul = b.indexOf(0);
  return (nul < 0 ? b : b.subarray(0, nul)).toString("utf8");
}

function ip(family: number, b: Buffer): string {
  if (family === 2) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::").replace(/:{3,}/, "::");
}

function userNs(data: Buffer, off: number): UserNamespace {
  const inum = data.readUInt32LE(off + USER_NS_BLOB.inum);
  return fastCreate(UserNamespaceSchema, {
    level: data.readUInt32LE(off + USER_NS_BLOB.level),
    uid: data.readUInt32LE(off + USER_NS_BLOB.uid),
    gid: data.readUInt32LE(off + USER_NS_BLOB.gid),
    ns: fastCreate(NamespaceSchema, { inum, isHost: data.readUInt32LE(off + USER_NS_BLOB.level) === 0 }),
  });
}

function nameOf(table: readonly string[], v: number): string {
  return table[v] ?? String(v);
}

/** The variant of a kernel-object argument, or undefined when the blob is short (a failed read). */
export function kernelObjectArg(gt: number, data: Buffer): KprobeArgument["arg"] | undefined {
  switch (gt) {
    case GT.DENTRY:
      return { case: "pathArg", value: fastCreate(KprobePathSchema, { path: data.toString("utf8") }) };
    case GT.KIOCB:
      return { case: "fileArg", value: fastCreate(KprobeFileSchema, { path: data.toString("utf8") }) };
    case GT.NET_DEV:
      return { case: "netDevArg", value: fastCreate(KprobeNetDevSchema, { name: cstr(data, 0, 16) }) };
    case GT.USER_NS:
      if (data.length < USER_NS_BLOB.SIZE) return undefined;
      return { case: "userNsArg", value: userNs(data, 0) };
    case GT.CRED: {
      if (data.length < CRED_BLOB.SIZE) return undefined;
      const u = (o: number) => data.readUInt32LE(o);
      return {
        case: "processCredentialsArg",
        value: fastCreate(ProcessCredentialsSchema, {
          uid: u(CRED_BLOB.uid), gid: u(CRED_BLOB.gid), euid: u(CRED_BLOB.euid), egid: u(CRED_BLOB.egid),
          suid: u(CRED_BLOB.suid), sgid: u(CRED_BLOB.sgid), fsuid: u(CRED_BLOB.fsuid), fsgid: u(CRED_BLOB.fsgid),
          securebits: securebitsList(u(CRED_BLOB.securebits)),
          caps: fastCreate(CapabilitiesSchema, {
            permitted: capsFromMask(data.readBigUInt64LE(CRED_BLOB.cap_permitted)),
            effective: capsFromMask(data.readBigUInt64LE(CRED_BLOB.cap_effective)),
            inheritable: capsFromMask(data.readBigUInt64LE(CRED_BLOB.cap_inheritable)),
          }),
          userNs: userNs(data, CRED_BLOB.user_ns),
        }),
      };
    }
    case GT.SKB: {
      if (data.length < SKB_BLOB.SIZE) return undefined;
      const family = data.readUInt16LE(SOCK_BLOB.family);
      const proto = data.readUInt16LE(SOCK_BLOB.protocol);
      const fam = family === 2 || family === 10;
      return {
        case: "skbArg",
        value: fastCreate(KprobeSkbSchema, {
          hash: data.readUInt32LE(SKB_BLOB.hash), len: data.readUInt32LE(SKB_BLOB.len),
          priority: data.readUInt32LE(SOCK_BLOB.priority), mark: data.readUInt32LE(SOCK_BLOB.mark),
          saddr: fam ? ip(family, data.subarray(SOCK_BLOB.saddr, SOCK_BLOB.saddr + 16)) : "",
          daddr: fam ? ip(family, data.subarray(SOCK_BLOB.daddr, SOCK_BLOB.daddr + 16)) : "",
          sport: data.readUInt16LE(SOCK_BLOB.sport), dport: data.readUInt16LE(SOCK_BLOB.dport),
          proto, protocol: PROTOCOLS[proto] ?? (proto ? String(proto) : ""), family: FAMILY[family] ?? "",
        }),
      };
    }
    case GT.BPF_ATTR: case GT.BPF_PROG: {
      if (data.length < BPF_PROG_BLOB.SIZE) return undefined;
      const fields = {
        ProgType: nameOf(PROG_TYPES, data.readUInt32LE(BPF_PROG_BLOB.prog_type)),
        InsnCnt: data.readUInt32LE(BPF_PROG_BLOB.insn_cnt),
        ProgName: cstr(data, BPF_PROG_BLOB.name, 16),
      };
      return gt === GT.BPF_ATTR
        ? { case: "bpfAttrArg", value: fastCreate(KprobeBpfAttrSchema, fields) }
        : { case: "bpfProgArg", value: fastCreate(KprobeBpfProgSchema, fields) };
    }
    case GT.BPF_MAP:
      if (data.length < BPF_MAP_BLOB.SIZE) return undefined;
      return {
        case: "bpfMapArg",
        value: fastCreate(KprobeBpfMapSchema, {
          MapType: nameOf(MAP_TYPES, data.readUInt32LE(BPF_MAP_BLOB.map_type)),
          KeySize: data.readUInt32LE(BPF_MAP_BLOB.key_size), ValueSize: data.readUInt32LE(BPF_MAP_BLOB.value_size),
          MaxEntries: data.readUInt32LE(BPF_MAP_BLOB.max_entries), MapName: cstr(data, BPF_MAP_BLOB.name, 16),
        }),
      };
    case GT.PERF_EVENT:
      if (data.length < PERF_EVENT_BLOB.SIZE) return undefined;
      return {
        case: "perfEventArg",
        value: fastCreate(KprobePerfEventSchema, {
          KprobeFunc: cstr(data, PERF_EVENT_BLOB.kprobe_func, 64),
          Type: nameOf(PERF_TYPES, data.readUInt32LE(PERF_EVENT_BLOB.type)),
          Config: data.readBigUInt64LE(PERF_EVENT_BLOB.config),
          ProbeOffset: data.readBigUInt64LE(PERF_EVENT_BLOB.probe_offset),
        }),
      };
    case GT.MODULE: case GT.LOAD_INFO: {
      if (data.length < MODULE_BLOB.SIZE) return undefined;
      const sig = data.readUInt32LE(MODULE_BLOB.sig_ok);
      const taints = data.readBigUInt64LE(MODULE_BLOB.taints);
      return {
        case: "moduleArg",
        value: fastCreate(KernelModuleSchema, {
          name: cstr(data, MODULE_BLOB.name, 56),
          signatureOk: sig === 2 ? undefined : sig === 1,
          tainted: TAINT_BITS.filter((b) => (taints & BigInt(b)) !== 0n),
        }),
      };
    }
    default:
      return undefined;
  }
}
