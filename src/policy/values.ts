/**
 * Parsing of the string operands of selectors, shared by the validator (here) and the selector
 * compiler (later): integers as Go's strconv with base 0, `min:max` ranges, IP addresses and
 * CIDRs, ports, socket protocol / family / state names, capability names, file types and rate
 * limits. Every function returns a value or throws an Error whose message is the reason.
 */
import { isIPv4, isIPv6 } from "node:net";
import type { ArgType } from "./types";

/** How an argument type is compared by selectors (Tetragon's value parsing per type). */
export type ArgClass =
  | "int32" // parsed as signed 32-bit (int, sint8/16/32, size_t)
  | "int64" // signed 64-bit (long, sint64, syscall64)
  | "uint32" // unsigned 32-bit (uint8/16/32, bpf_cmd, capability)
  | "uint64" // unsigned 64-bit (ulong, uint64)
  | "string" // string, char_buf, char_iovec, const_buf, data_loc
  | "file" // fd, file, path, dentry, linux_binprm, filename
  | "sock" // sock, skb, socket
  | "sockaddr"
  | "sockaddr_un"
  | "netdev"
  | "capset" // kernel_cap_t, cap_inheritable, cap_permitted, cap_effective
  | "auto" // unknown until BTF / syscall prototype
  | "opaque"; // cannot be filtered on

const CLASS: Record<ArgType, ArgClass> = {
  auto: "auto",
  int: "int32", sint8: "int32", int8: "int32", sint16: "int32", int16: "int32", sint32: "int32", int32: "int32",
  size_t: "int32",
  long: "int64", sint64: "int64", int64: "int64", syscall64: "int64",
  uint8: "uint32", uint16: "uint32", uint32: "uint32", bpf_cmd: "uint32", capability: "uint32",
  ulong: "uint64", uint64: "uint64", "unsigned long": "uint64",
  string: "string", char_buf: "string", char_iovec: "string", const_buf: "string", data_loc: "string",
  fd: "file", file: "file", path: "file", dentry: "file", linux_binprm: "file", filename: "file",
  sock: "sock", skb: "sock", socket: "sock",
  sockaddr: "sockaddr", sockaddr_un: "sockaddr_un", net_device: "netdev",
  kernel_cap_t: "capset", cap_inheritable: "capset", cap_permitted: "capset", cap_effective: "capset",
  nop: "opaque", bpf_attr: "opaque", perf_event: "opaque", bpf_map: "opaque", bpf_prog: "opaque",
  user_namespace: "opaque", kiocb: "opaque", iov_iter: "opaque", cred: "opaque", load_info: "opaque",
  module: "opaque",
};

export function argClass(type: ArgType): ArgClass {
  return CLASS[type] ?? "opaque";
}

export function isIntegerClass(c: ArgClass): c is "int32" | "int64" | "uint32" | "uint64" {
  return c === "int32" || c === "int64" || c === "uint32" || c === "uint64";
}

const BOUNDS: Record<"int32" | "int64" | "uint32" | "uint64", [bigint, bigint]> = {
  int32: [-(1n << 31n), (1n << 31n) - 1n],
  int64: [-(1n << 63n), (1n << 63n) - 1n],
  uint32: [0n, (1n << 32n) - 1n],
  uint64: [0n, (1n << 64n) - 1n],
};

/**
 * Integer literal as Go's strconv.ParseInt/ParseUint with base 0: optional sign (signed kinds
 * only), 0x / 0o / 0b prefixes, a leading 0 means octal, `_` allowed between digits after a
 * prefix. Throws when malformed or out of the kind's range.
 */
export function parseInteger(text: string, kind: "int32" | "int64" | "uint32" | "uint64" = "int64"): bigint {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9]*)$/.exec(text);
  if (!m) throw new Error(`'${text}' is not an integer`);
  const [, sign, body] = m;
  if (sign && kind.startsWith("u")) throw new Error(`'${text}' must not have a sign (unsigned)`);
  let digits = body;
  let base = 10;
  if (/^0[xX]/.test(body)) { base = 16; digits = body.slice(2); }
  else if (/^0[oO]/.test(body)) { base = 8; digits = body.slice(2); }
  else if (/^0[bB]/.test(body)) { base = 2; digits = body.slice(2); }
  else if (body.length > 1 && body.startsWith("0")) { base = 8; digits = body.slice(1); }
  if (digits.includes("_")) {
    if (base === 10 || /^_|_$|__/.test(digits)) throw new Error(`'${text}' is not an integer`);
    digits = digits.replace(/_/g, "");
  }
  if (digits === "") throw new Error(`'${text}' is not an integer`);
  let v = 0n;
  const b = BigInt(base);
  for (const ch of digits.toLowerCase()) v = v * b + BigInt(parseInt(ch, base));
  if (sign === "-") v = -v;
  const [lo, hi] = BOUNDS[kind];
  if (v < lo || v > hi) throw new Error(`'${text}' is out of range for ${kind} (${lo}..${hi})`);
  return v;
}

/** `min:max` (both integers of the kind). With `allowSingle`, a lone value means `v:v`. */
export function parseRange(
  text: string,
  kind: "int32" | "int64" | "uint32" | "uint64",
  allowSingle = false,
): [bigint, bigint] {
  const parts = text.split(":");
  if (parts.length === 1 && allowSingle) {
    const v = parseInteger(parts[0], kind);
    return [v, v];
  }
  if (parts.length !== 2) throw new Error(`'${text}' is not a range: expected 'min:max'`);
  const lo = parseInteger(parts[0], kind);
  const hi = parseInteger(parts[1], kind);
  if (lo > hi) throw new Error(`range '${text}' has min greater than max`);
  return [lo, hi];
}

/** IPv4/IPv6 address or CIDR; returns the address bytes length (4/16) and prefix length. */
export function parseAddrOrCidr(text: string): { family: 4 | 6; prefixLen: number } {
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  const family = isIPv4(addr) ? 4 : isIPv6(addr) && !(slash >= 0 && addr.includes("%")) ? 6 : 0;
  if (family === 0) throw new Error(`'${text}' is not an IP address or CIDR`);
  const max = family === 4 ? 32 : 128;
  if (slash < 0) return { family, prefixLen: max };
  const bits = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]*)$/.test(bits) || Number(bits) > max) {
    throw new Error(`'${text}' has an invalid prefix length (0..${max})`);
  }
  return { family, prefixLen: Number(bits) };
}

/** A port or `min:max` port range, 0..65535. */
export function parsePortRange(text: string): [number, number] {
  let r: [bigint, bigint];
  try {
    r = parseRange(text, "uint64", true);
  } catch (e) {
    throw new Error(`'${text}' is not a port or port range: ${(e as Error).message}`);
  }
  if (r[1] > 65535n) throw new Error(`port '${text}' is out of range (0..65535)`);
  return [Number(r[0]), Number(r[1])];
}

export const IP_PROTOCOLS: Record<string, number> = {
  IPPROTO_IP: 0, IPPROTO_ICMP: 1, IPPROTO_IGMP: 2, IPPROTO_IPIP: 4, IPPROTO_TCP: 6, IPPROTO_EGP: 8,
  IPPROTO_PUP: 12, IPPROTO_UDP: 17, IPPROTO_IDP: 22, IPPROTO_TP: 29, IPPROTO_DCCP: 33,
  IPPROTO_IPV6: 41, IPPROTO_RSVP: 46, IPPROTO_GRE: 47, IPPROTO_ESP: 50, IPPROTO_AH: 51,
  IPPROTO_ICMPV6: 58, IPPROTO_MTP: 92, IPPROTO_BEETPH: 94, IPPROTO_ENCAP: 98, IPPROTO_PIM: 103,
  IPPROTO_COMP: 108, IPPROTO_L2TP: 115, IPPROTO_SCTP: 132, IPPROTO_UDPLITE: 136, IPPROTO_MPLS: 137,
  IPPROTO_ETHERNET: 143, IPPROTO_RAW: 255, IPPROTO_MPTCP: 262,
};

export const ADDRESS_FAMILIES: Record<string, number> = {
  AF_UNSPEC: 0, AF_UNIX: 1, AF_LOCAL: 1, AF_INET: 2, AF_AX25: 3, AF_IPX: 4, AF_APPLETALK: 5,
  AF_NETROM: 6, AF_BRIDGE: 7, AF_ATMPVC: 8, AF_X25: 9, AF_INET6: 10, AF_ROSE: 11, AF_DECnet: 12,
  AF_NETBEUI: 13, AF_SECURITY: 14, AF_KEY: 15, AF_NETLINK: 16, AF_ROUTE: 16, AF_PACKET: 17,
  AF_ASH: 18, AF_ECONET: 19, AF_ATMSVC: 20, AF_RDS: 21, AF_SNA: 22, AF_IRDA: 23, AF_PPPOX: 24,
  AF_WANPIPE: 25, AF_LLC: 26, AF_IB: 27, AF_MPLS: 28, AF_CAN: 29, AF_TIPC: 30, AF_BLUETOOTH: 31,
  AF_IUCV: 32, AF_RXRPC: 33, AF_ISDN: 34, AF_PHONET: 35, AF_IEEE802154: 36, AF_CAIF: 37,
  AF_ALG: 38, AF_NFC: 39, AF_VSOCK: 40, AF_KCM: 41, AF_QIPCRTR: 42, AF_SMC: 43, AF_XDP: 44,
  AF_MCTP: 45,
};

export const TCP_STATES: Record<string, number> = {
  TCP_ESTABLISHED: 1, TCP_SYN_SENT: 2, TCP_SYN_RECV: 3, TCP_FIN_WAIT1: 4, TCP_FIN_WAIT2: 5,
  TCP_TIME_WAIT: 6, TCP_CLOSE: 7, TCP_CLOSE_WAIT: 8, TCP_LAST_ACK: 9, TCP_LISTEN: 10,
  TCP_CLOSING: 11, TCP_NEW_SYN_RECV: 12,
};

/**
 * A Protocol / Family / State operand: a known name, or an integer / `min:max` range.
 */
export function parseSockEnum(text: string, table: Record<string, number>, what: string): [number, number] {
  if (Object.prototype.hasOwnProperty.call(table, text)) return [table[text], table[text]];
  try {
    const r = parseRange(text, "uint32", true);
    return [Number(r[0]), Number(r[1])];
  } catch {
    throw new Error(`'${text}' is not a known ${what} name or number`);
  }
}

/** Capability bit numbers by name (Tetragon also knows CAP_DAC_OVERRIDE as DAC_OVERRIDE). */
export const CAPABILITIES: Record<string, number> = (() => {
  const names = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
  ];
  const t: Record<string, number> = {};
  names.forEach((n, i) => (t[`CAP_${n}`] = i));
  t.DAC_OVERRIDE = 1;
  return t;
})();

/** A capability name, case-insensitive, surrounding blanks ignored; returns the canonical name. */
export function parseCapabilityName(text: string): string {
  const name = text.trim().toUpperCase();
  if (!Object.prototype.hasOwnProperty.call(CAPABILITIES, name)) throw new Error(`unknown capability '${text}'`);
  return name;
}

/** Capability-set operand: an integer mask, or comma-separated capability names. */
export function parseCapabilityMask(text: string): bigint {
  try {
    return parseInteger(text, "uint64");
  } catch {
    let mask = 0n;
    for (const part of text.split(",")) mask |= 1n << BigInt(CAPABILITIES[parseCapabilityName(part)]);
    return mask;
  }
}

/** S_IF* values by the names FileType / NotFileType accept. */
export const FILE_TYPES: Record<string, number> = {
  sock: 0o140000, socket: 0o140000, lnk: 0o120000, link: 0o120000, reg: 0o100000, regular: 0o100000,
  blk: 0o060000, block: 0o060000, dir: 0o040000, chr: 0o020000, char: 0o020000, fifo: 0o010000,
  pipe: 0o010000,
};

/**
 * A Post rateLimit in milliseconds: an unsigned number of seconds, optionally suffixed with
 * s, m or h (either case), as Tetragon; the result saturates at 2^32-1 ms.
 */
export function parseRateLimit(text: string): number {
  const m = /^([0-9]+)([smhSMH]?)$/.exec(text);
  if (!m) throw new Error(`rateLimit '${text}' is invalid: expected a number of seconds, optionally with an s, m or h suffix`);
  const n = BigInt(m[1]);
  if (n > 0xffffffffn) throw new Error(`rateLimit '${text}' is out of range`);
  const mult = { "": 1n, s: 1n, m: 60n, h: 3600n }[m[2].toLowerCase() as "" | "s" | "m" | "h"];
  const ms = n * mult * 1000n;
  return Number(ms > 0xffffffffn ? 0xffffffffn : ms);
}

/** Go strconv.ParseBool. */
export function parseGoBool(text: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  throw new Error(`'${text}' is not a boolean`);
}

export function utf8Length(s: string): number {
  return Buffer.byteLength(s, "utf8");
}
