/**
 * Container ids from cgroup names and paths, for the layouts of Docker (cgroupfs and
 * systemd drivers), containerd, CRI-O and Podman.
 */
const ID_RE = /(?:^|[-:/])([0-9a-f]{64})(?:\.scope)?$/;

/** The full 64-hex container id in a cgroup name or path, or "". */
export function containerIdFromCgroup(nameOrPath: string): string {
  const m = ID_RE.exec(nameOrPath);
  return m ? m[1] : "";
}

/** Tetragon's `docker` field: the first 31 characters of the container id. */
export function dockerField(containerId: string): string {
  return containerId.slice(0, 31);
}
