/**
 * Offsets of the records in bpf/events/*.h. test/kernel/layout.test.ts checks them
 * against the BTF of the built object, so a change on one side fails CI.
 */
export const MsgOp = { EXECVE: 5, EXIT: 7, CLONE: 23 } as const;

export const HEADER = { op: 0, size: 4, ktime: 8, SIZE: 16 } as const;

export const CREDS = {
  uid: 0, gid: 4, suid: 8, sgid: 12, euid: 16, egid: 20, fsuid: 24, fsgid: 28,
  securebits: 32, user_ns_level: 36, cap_permitted: 40, cap_effective: 48, cap_inheritable: 56,
  SIZE: 64,
} as const;

export const NS_FIELDS = [
  "uts", "ipc", "mnt", "pid", "pid_for_children", "net", "time", "time_for_children", "cgroup", "user",
] as const;
export const NS_SIZE = 40;

export const EXEC = {
  pid: 16, tid: 20, ppid: 24, nspid: 28, auid: 32, flags: 36, parent_ktime: 40, cgroup_id: 48,
  creds: 56, ns: 120, filename_len: 160, cwd_len: 162, cgroup_name_len: 164, args_len: 166,
  args_total: 168, SIZE: 176,
} as const;

export const CLONE = { pid: 16, tid: 20, ppid: 24, flags: 28, parent_ktime: 32, SIZE: 40 } as const;

export const EXIT = { pid: 16, tid: 20, proc_ktime: 24, exit_code: 32, SIZE: 40 } as const;

export const PROCESS_ENTRY = {
  ktime: 0, parent_ktime: 8, pid: 16, ppid: 20, flags: 24, auid: 28, cgroup_id: 32,
  creds: 40, ns: 104, binary: 144, BINARY_LEN: 256, mbset: 400, SIZE: 408,
} as const;

/** Bits of msg_exec.flags (EXEC_FLAG_* in bpf/events/process.h). */
export const ExecFlag = {
  EXECVE: 0x0001,
  CLONE: 0x0002,
  TRUNC_ARGS: 0x0004,
  ERROR_ARGS: 0x0008,
  ROOT_CWD: 0x0010,
  ERROR_CWD: 0x0020,
  NO_CWD: 0x0040,
  TRUNC_FILENAME: 0x0080,
  ERROR_FILENAME: 0x0100,
  ERROR_CGROUP: 0x0200,
  MISS_PARENT: 0x0400,
  TRUNC_CWD: 0x0800,
} as const;

/** Indexes of stats_map (enum sensor_stat). */
export const SensorStat = [
  "ringbuf_drop_exec", "ringbuf_drop_exit", "ringbuf_drop_clone", "execve_map_full",
  "parent_miss", "exit_miss",
] as const;
