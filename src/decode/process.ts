/**
 * Decoders of the process sensor's records: DataView reads into plain objects, no
 * copies of the record except the strings it carries.
 */
import { CREDS, EXEC, CLONE, EXIT, HEADER, NS_FIELDS } from "./layout";

export interface RawCreds {
  uid: number; gid: number; suid: number; sgid: number; euid: number; egid: number;
  fsuid: number; fsgid: number; securebits: number; userNsLevel: number;
  capPermitted: bigint; capEffective: bigint; capInheritable: bigint;
}

export type RawNamespaces = Record<(typeof NS_FIELDS)[number], number>;

export interface RawExec {
  ktime: bigint; pid: number; tid: number; ppid: number; nspid: number; auid: number;
  flags: number; parentKtime: bigint; cgroupId: bigint; creds: RawCreds; ns: RawNamespaces;
  filename: string; cwd: string; cgroupName: string;
  /** argv[1..], split at the NULs of the task's argument area. */
  args: string[];
  argsTotal: number;
}

export interface RawClone { ktime: bigint; pid: number; tid: number; ppid: number; flags: number; parentKtime: bigint }

export interface RawExit { ktime: bigint; pid: number; tid: number; procKtime: bigint; exitCode: number }

export function readOp(view: DataView, off: number): number {
  return view.getUint8(off + HEADER.op);
}

export function readCreds(view: DataView, off: number): RawCreds {
  return {
    uid: view.getUint32(off + CREDS.uid, true),
    gid: view.getUint32(off + CREDS.gid, true),
    suid: view.getUint32(off + CREDS.suid, true),
    sgid: view.getUint32(off + CREDS.sgid, true),
    euid: view.getUint32(off + CREDS.euid, true),
    egid: view.getUint32(off + CREDS.egid, true),
    fsuid: view.getUint32(off + CREDS.fsuid, true),
    fsgid: view.getUint32(off + CREDS.fsgid, true),
    securebits: view.getUint32(off + CREDS.securebits, true),
    userNsLevel: view.getUint32(off + CREDS.user_ns_level, true),
    capPermitted: view.getBigUint64(off + CREDS.cap_permitted, true),
    capEffective: view.getBigUint64(off + CREDS.cap_effective, true),
    capInheritable: view.getBigUint64(off + CREDS.cap_inheritable, true),
  };
}

export function readNamespaces(view: DataView, off: number): RawNamespaces {
  return {
    uts: view.getUint32(off, true),
    ipc: view.getUint32(off + 4, true),
    mnt: view.getUint32(off + 8, true),
    pid: view.getUint32(off + 12, true),
    pid_for_children: view.getUint32(off + 16, true),
    net: view.getUint32(off + 20, true),
    time: view.getUint32(off + 24, true),
    time_for_children: view.getUint32(off + 28, true),
    cgroup: view.getUint32(off + 32, true),
    user: view.getUint32(off + 36, true),
  };
}

/** Splits a NUL-separated argument area, dropping argv[0]. */
export function splitArgs(buf: Buffer, start: number, end: number): string[] {
  const args: string[] = [];
  let i = buf.indexOf(0, start);
  if (i < 0 || i >= end) return args;
  i++;
  while (i < end) {
    let j = buf.indexOf(0, i);
    if (j < 0 || j > end) j = end;
    args.push(buf.toString("utf8", i, j));
    i = j + 1;
  }
  return args;
}

export function decodeExec(buf: Buffer, view: DataView, off: number): RawExec {
  const filenameLen = view.getUint16(off + EXEC.filename_len, true);
  const cwdLen = view.getUint16(off + EXEC.cwd_len, true);
  const cgroupNameLen = view.getUint16(off + EXEC.cgroup_name_len, true);
  const argsLen = view.getUint16(off + EXEC.args_len, true);
  let p = off + EXEC.SIZE;
  const filename = buf.toString("utf8", p, p + filenameLen);
  p += filenameLen;
  const cwd = buf.toString("utf8", p, p + cwdLen);
  p += cwdLen;
  const cgroupName = buf.toString("utf8", p, p + cgroupNameLen);
  p += cgroupNameLen;
  return {
    ktime: view.getBigUint64(off + HEADER.ktime, true),
    pid: view.getUint32(off + EXEC.pid, true),
    tid: view.getUint32(off + EXEC.tid, true),
    ppid: view.getUint32(off + EXEC.ppid, true),
    nspid: view.getUint32(off + EXEC.nspid, true),
    auid: view.getUint32(off + EXEC.auid, true),
    flags: view.getUint32(off + EXEC.flags, true),
    parentKtime: view.getBigUint64(off + EXEC.parent_ktime, true),
    cgroupId: view.getBigUint64(off + EXEC.cgroup_id, true),
    creds: readCreds(view, off + EXEC.creds),
    ns: readNamespaces(view, off + EXEC.ns),
    filename,
    cwd,
    cgroupName,
    args: splitArgs(buf, p, p + argsLen),
    argsTotal: view.getUint32(off + EXEC.args_total, true),
  };
}

export function decodeClone(view: DataView, off: number): RawClone {
  return {
    ktime: view.getBigUint64(off + HEADER.ktime, true),
    pid: view.getUint32(off + CLONE.pid, true),
    tid: view.getUint32(off + CLONE.tid, true),
    ppid: view.getUint32(off + CLONE.ppid, true),
    flags: view.getUint32(off + CLONE.flags, true),
    parentKtime: view.getBigUint64(off + CLONE.parent_ktime, true),
  };
}

export function decodeExit(view: DataView, off: number): RawExit {
  return {
    ktime: view.getBigUint64(off + HEADER.ktime, true),
    pid: view.getUint32(off + EXIT.pid, true),
    tid: view.getUint32(off + EXIT.tid, true),
    procKtime: view.getBigUint64(off + EXIT.proc_ktime, true),
    exitCode: view.getUint32(off + EXIT.exit_code, true),
  };
}
