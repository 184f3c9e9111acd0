/** Builds Tetragon `Process` messages from decoded kernel records and /proc reads. */
import { fastCreate } from "../api/fast-create";
import {
  CapabilitiesSchema, NamespaceSchema, NamespacesSchema, ProcessCredentialsSchema, ProcessSchema,
  UserNamespaceSchema, type Namespaces, type Process,
} from "../api/gen/tetragon/tetragon_pb";
import type { RawCreds, RawNamespaces } from "../decode/process";
import { NS_FIELDS } from "../decode/layout";
import { capsFromMask, securebitsList } from "./capabilities";
import { containerIdFromCgroup, dockerField } from "./container";
import type { KtimeClock } from "./ktime";

export interface ProcessIdentity {
  execId: string;
  parentExecId: string;
  pid: number;
  tid: number;
  ktime: bigint;
  cwd: string;
  binary: string;
  arguments: string;
  flags: string;
  auid: number;
  creds: RawCreds;
  ns: RawNamespaces;
  cgroupName: string;
}

export interface BuilderOptions {
  clock: KtimeClock;
  enableProcessCred: boolean;
  enableProcessNs: boolean;
  /** namespace inodes of PID 1, to mark is_host */
  hostNs: Partial<RawNamespaces>;
}

const NS_KEYS: Record<(typeof NS_FIELDS)[number], keyof Omit<Namespaces, "$typeName" | "$unknown">> = {
  uts: "uts", ipc: "ipc", mnt: "mnt", pid: "pid", pid_for_children: "pidForChildren", net: "net",
  time: "time", time_for_children: "timeForChildren", cgroup: "cgroup", user: "user",
};

export function buildNamespaces(ns: RawNamespaces, hostNs: Partial<RawNamespaces>): Namespaces {
  const out = fastCreate(NamespacesSchema);
  for (const f of NS_FIELDS) {
    const inum = ns[f];
    if (!inum) continue;
    out[NS_KEYS[f]] = fastCreate(NamespaceSchema, { inum, isHost: hostNs[f] === inum });
  }
  return out;
}

export function buildProcess(id: ProcessIdentity, opts: BuilderOptions): Process {
  const c = id.creds;
  const p = fastCreate(ProcessSchema, {
    execId: id.execId,
    pid: id.pid,
    uid: c.euid,
    cwd: id.cwd,
    binary: id.binary,
    arguments: id.arguments,
    flags: id.flags,
    startTime: opts.clock.timestamp(id.ktime),
    auid: id.auid,
    docker: dockerField(containerIdFromCgroup(id.cgroupName)),
    parentExecId: id.parentExecId,
    tid: id.tid,
  });
  if (opts.enableProcessNs) p.ns = buildNamespaces(id.ns, opts.hostNs);
  if (opts.enableProcessCred) {
    // Tetragon fills `cap` only together with the credentials
    p.cap = fastCreate(CapabilitiesSchema, {
      permitted: capsFromMask(c.capPermitted),
      effective: capsFromMask(c.capEffective),
      inheritable: capsFromMask(c.capInheritable),
    });
    p.processCredentials = fastCreate(ProcessCredentialsSchema, {
      uid: c.uid, gid: c.gid, euid: c.euid, egid: c.egid, suid: c.suid, sgid: c.sgid,
      fsuid: c.fsuid, fsgid: c.fsgid,
      securebits: securebitsList(c.securebits),
      caps: p.cap,
      userNs: fastCreate(UserNamespaceSchema, {
        level: c.userNsLevel,
        uid: c.uid,
        gid: c.gid,
        ns: id.ns.user ? fastCreate(NamespaceSchema, { inum: id.ns.user, isHost: opts.hostNs.user === id.ns.user }) : undefined,
      }),
    });
  }
  return p;
}
