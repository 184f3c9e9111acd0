/** Capability bit masks to CapabilitiesType values (the enum value is the bit number). */
import type { CapabilitiesType } from "../api/gen/tetragon/capabilities_pb";

const MAX_CAP = 40;

export function capsFromMask(mask: bigint): CapabilitiesType[] {
  const out: CapabilitiesType[] = [];
  let m = mask;
  for (let bit = 0; m !== 0n && bit <= MAX_CAP; bit++, m >>= 1n) {
    if (m & 1n) out.push(bit as CapabilitiesType);
  }
  return out;
}

export function securebitsList(bits: number): number[] {
  const out: number[] = [];
  for (let b = 1; b <= 128; b <<= 1) if (bits & b) out.push(b);
  return out;
}

export const CAP_SYS_ADMIN = 21;

/** Capability names by bit number, as KprobeCapability.name carries them. */
export const CAP_NAMES: string[] = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
  "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
];
