/**
 * The agent's flags: Tetragon's names and defaults, for what tetragon-ts implements.
 * This table is the single source for the command line, tetragon.yaml keys, drop-in
 * files and TETRAGON_* environment variables.
 */
export type FlagType = "string" | "int" | "bool" | "list" | "duration";

export interface FlagDef {
  name: string;
  type: FlagType;
  default: string | number | boolean | string[];
  help: string;
  short?: string;
}

export const FLAGS: FlagDef[] = [
  { name: "server-address", type: "string", default: "localhost:54321", help: "gRPC server address (e.g. 'localhost:54321' or 'unix:///var/run/tetragon/tetragon.sock'); empty disables it" },
  { name: "health-server-address", type: "string", default: ":6789", help: "Health checking server address" },
  { name: "health-server-interval", type: "int", default: 10, help: "Health checking server interval in seconds" },
  { name: "export-filename", type: "string", default: "", help: "Filename for JSON export; empty disables the export" },
  { name: "export-file-max-size-mb", type: "int", default: 10, help: "Size in MB at which the export file is rotated" },
  { name: "export-file-max-backups", type: "int", default: 5, help: "Number of rotated export files to keep" },
  { name: "export-file-compress", type: "bool", default: false, help: "Compress rotated export files with gzip" },
  { name: "export-file-perm", type: "string", default: "600", help: "Permissions of the export file (octal)" },
  { name: "export-file-rotation-interval", type: "duration", default: 0, help: "Interval at which to rotate the export file in addition to the size limit (0 = size only)" },
  { name: "export-rate-limit", type: "int", default: -1, help: "Rate limit (per minute) for event export; -1 = no limit" },
  { name: "export-allowlist", type: "string", default: "", help: "JSON event filters (one per line) that select the events to export" },
  { name: "export-denylist", type: "string", default: "", help: "JSON event filters (one per line) that select events not to export" },
  { name: "field-filters", type: "string", default: "", help: "JSON field filters (one per line) applied to exported events" },
  { name: "redaction-filters", type: "string", default: "", help: "JSON redaction filters (one per line) applied to exported events" },
  { name: "enable-pid-set-filter", type: "bool", default: false, help: "Allow pid_set in export filters" },
  { name: "tracing-policy", type: "string", default: "", help: "Tracing policy file to load at start" },
  { name: "tracing-policy-dir", type: "string", default: "/etc/tetragon/tetragon.tp.d", help: "Directory of tracing policies to load at start (every regular file)" },
  { name: "process-cache-size", type: "int", default: 65536, help: "Size of the process cache" },
  { name: "process-cache-gc-interval", type: "duration", default: 30, help: "Interval between process cache garbage collections" },
  { name: "execve-map-entries", type: "int", default: 0, help: "Entries of the kernel's process map (0 = 32768)" },
  { name: "rb-size", type: "int", default: 0, help: "Ring buffer size per CPU in bytes (0 = 64 KiB x CPUs, at least 1 MiB)" },
  { name: "rb-size-total", type: "int", default: 0, help: "Total ring buffer size in bytes (overrides rb-size)" },
  { name: "enable-process-cred", type: "bool", default: false, help: "Add process_credentials to process events" },
  { name: "enable-process-ns", type: "bool", default: false, help: "Add namespaces to process events" },
  { name: "enable-ancestors", type: "list", default: [], help: "Add ancestors to events of these types (base, kprobe, tracepoint, uprobe, lsm, usdt)" },
  { name: "enable-k8s-api", type: "bool", default: false, help: "Access the Kubernetes API to associate events with the pods of this node (pod, namespace, workload, labels, container): lists and watches the pods whose spec.nodeName is NODE_NAME (else the host name)" },
  { name: "k8s-kubeconfig-path", type: "string", default: "", help: "Absolute path of the kubeconfig file used with --enable-k8s-api; empty uses KUBECONFIG, ~/.kube/config or the in-cluster service account" },
  { name: "enable-docker", type: "bool", default: false, help: "Ask the local Docker daemon (--docker-socket) for the name, image and start time of the containers that processes run in, and put them in process.pod.container when no Kubernetes pod claims the container; on by itself when a daemon answers on --docker-socket at start (tetragon-ts)" },
  { name: "docker-socket", type: "string", default: "/var/run/docker.sock", help: "Unix socket of the Docker Engine API used with --enable-docker (tetragon-ts)" },
  { name: "cluster-name", type: "string", default: "", help: "Name of the cluster, added to every event" },
  { name: "bpf-lib", type: "string", default: "/var/lib/tetragon/", help: "Directory holding the BPF objects (the build tree is used when they are not there)" },
  { name: "bpf-dir", type: "string", default: "tetragon", help: "Directory under /sys/fs/bpf for pinned maps" },
  { name: "btf", type: "string", default: "", help: "Path of a BTF file for the running kernel (default /sys/kernel/btf/vmlinux)" },
  { name: "procfs", type: "string", default: "/proc/", help: "Location of procfs to read processes from" },
  { name: "verbose", type: "int", default: 0, help: "BPF verifier log level (0, 1, 2)" },
  { name: "fanotify-fail", type: "string", default: "open", help: "Override through fanotify (kernels without bpf_override_return, fmod_ret or BPF-LSM): what an open or exec of a watched path gets when no hook decided on it, e.g. through io_uring or an unhooked syscall: 'open' allows it, 'closed' denies it (tetragon-ts)" },
  { name: "keep-sensors-on-exit", type: "bool", default: false, help: "Keep pinned BPF maps after the agent exits" },
  { name: "release-pinned-bpf", type: "bool", default: true, help: "Remove pinned BPF maps on exit" },
  { name: "metrics-server", type: "string", default: "", help: "Metrics server address (e.g. ':2112'); empty disables it" },
  { name: "metrics-label-filter", type: "list", default: ["namespace", "workload", "pod", "binary"], help: "Comma-separated list of enabled metrics labels (namespace, workload, pod, binary); unknown labels are ignored" },
  { name: "run-dir", type: "string", default: "/var/run/tetragon", help: "Directory of the agent's runtime files: tetragon-info.json and, when --server-address is TCP, the extra unix socket tetragon.sock (tetragon-ts)" },
  { name: "log-level", type: "string", default: "info", help: "Log level (trace, debug, info, warn, error)" },
  { name: "log-format", type: "string", default: "text", help: "Log format (text, json)" },
  { name: "log-file", type: "string", default: "", help: "Log to this file instead of stderr" },
  { name: "debug", type: "bool", default: false, help: "Debug logging (same as --log-level=debug)", short: "d" },
  { name: "config-dir", type: "string", default: "", help: "Configuration directory: one file per flag, named like the flag" },
  { name: "event-queue-size", type: "int", default: 10000, help: "Bound of each event subscriber's queue" },
];

export function findFlag(name: string): FlagDef | undefined {
  return FLAGS.find((f) => f.name === name);
}

/** camelCase key under which commander stores a flag. */
export function optionKey(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
