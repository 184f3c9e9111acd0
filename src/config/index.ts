/**
 * The agent's configuration, built once at start from (lowest to highest precedence)
 * defaults, drop-in directories, tetragon.yaml, /etc/tetragon/tetragon.conf.d, --config-dir,
 * TETRAGON_* variables and the command line, then passed down. Nothing reads flags later.
 */
import { Command, CommanderError } from "commander";
import { FLAGS, findFlag, optionKey, type FlagDef } from "./flags";
import {
  ConfigError, DEFAULT_DROPIN_DIRS, DEFAULT_ETC_DROPIN, DEFAULT_YAML_FILES, readDropInDir, readEnv, readYamlFile,
  type RawSettings,
} from "./sources";

export { ConfigError } from "./sources";

export type ConfigValue = string | number | boolean | string[];
export type AgentConfig = Record<string, ConfigValue> & {
  "server-address": string;
  "health-server-address": string;
  "health-server-interval": number;
  "export-filename": string;
  "export-file-max-size-mb": number;
  "export-file-max-backups": number;
  "export-file-compress": boolean;
  "export-file-perm": string;
  "export-file-rotation-interval": number;
  "export-rate-limit": number;
  "export-allowlist": string;
  "export-denylist": string;
  "field-filters": string;
  "redaction-filters": string;
  "enable-pid-set-filter": boolean;
  "tracing-policy": string;
  "tracing-policy-dir": string;
  "process-cache-size": number;
  "process-cache-gc-interval": number;
  "execve-map-entries": number;
  "rb-size": number;
  "rb-size-total": number;
  "enable-process-cred": boolean;
  "enable-process-ns": boolean;
  "enable-ancestors": string[];
  "enable-k8s-api": boolean;
  "k8s-kubeconfig-path": string;
  "enable-docker": boolean;
  "docker-socket": string;
  "cluster-name": string;
  "bpf-lib": string;
  "bpf-dir": string;
  btf: string;
  procfs: string;
  verbose: number;
  "keep-sensors-on-exit": boolean;
  "fanotify-fail": string;
  "release-pinned-bpf": boolean;
  "metrics-server": string;
  "metrics-label-filter": string[];
  "run-dir": string;
  "log-level": string;
  "log-format": string;
  "log-file": string;
  debug: boolean;
  "config-dir": string;
  "event-queue-size": number;
};

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;

export function coerce(def: FlagDef, raw: unknown, source: string): ConfigValue {
  const fail = (why: string): never => {
    throw new ConfigError(`invalid value ${JSON.stringify(raw)} for --${def.name} (from ${source}): ${why}`);
  };
  switch (def.type) {
    case "string":
      if (typeof raw === "string") return raw;
      if (typeof raw === "number" || typeof raw === "boolean") return String(raw);
      return fail("expected a string");
    case "int": {
      if (typeof raw === "number" && Number.isInteger(raw)) return raw;
      if (typeof raw === "string" && /^-?\d+$/.test(raw.trim())) return Number(raw.trim());
      return fail("expected an integer");
    }
    case "bool": {
      if (typeof raw === "boolean") return raw;
      if (raw === undefined) return true;
      const s = String(raw).trim().toLowerCase();
      if (["true", "1", "t", "yes"].includes(s)) return true;
      if (["false", "0", "f", "no"].includes(s)) return false;
      return fail("expected true or false");
    }
    case "list": {
      if (Array.isArray(raw)) return raw.map(String);
      if (typeof raw === "string") return raw.split(",").map((s) => s.trim()).filter(Boolean);
      return fail("expected a comma-separated list");
    }
    case "duration": {
      if (typeof raw === "number") return raw;
      const m = DURATION_RE.exec(String(raw).trim());
      if (!m) return fail("expected a duration such as 30s, 2m or a number of seconds");
      const n = Number(m[1]);
      const unit = m[2] ?? "s";
      return unit === "ms" ? n / 1000 : unit === "s" ? n : unit === "m" ? n * 60 : n * 3600;
    }
  }
}

function buildCommand(): Command {
  const cmd = new Command("tetragon")
    .description("tetragon-ts: eBPF-based security observability and runtime enforcement")
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  for (const f of FLAGS) {
    const flag = (f.short ? `-${f.short}, ` : "") + `--${f.name}`;
    const dflt = Array.isArray(f.default) ? f.default.join(",") : String(f.default);
    const help = `${f.help} (default ${JSON.stringify(dflt)})`;
    if (f.type === "bool") cmd.option(`${flag} [bool]`, help);
    else cmd.option(`${flag} <value>`, help);
  }
  cmd.version(require("../../../package.json").version as string, "--version", "Print the version and exit");
  return cmd;
}

export type ParseResult =
  | { kind: "run"; config: AgentConfig; warnings: string[] }
  | { kind: "exit"; code: number; output: string };

export interface ParseOptions {
  env?: NodeJS.ProcessEnv;
  dropInDirs?: string[];
  yamlFiles?: string[];
  etcDropIn?: string;
}

/** Parses argv (without node and script) into the configuration, or an exit request. */
export function parseConfig(argv: string[], opts: ParseOptions = {}): ParseResult {
  const cmd = buildCommand();
  let out = "";
  cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  try {
    cmd.parse(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return { kind: "exit", code: 0, output: out };
      return { kind: "exit", code: 2, output: out || err.message + "\n" };
    }
    throw err;
  }
  const cli = cmd.opts() as Record<string, unknown>;
  const warnings: string[] = [];
  const raw: RawSettings = new Map();
  const warn = (m: string) => warnings.push(m);
  for (const d of opts.dropInDirs ?? DEFAULT_DROPIN_DIRS) readDropInDir(d, raw, warn);
  for (const y of opts.yamlFiles ?? DEFAULT_YAML_FILES) readYamlFile(y, raw, warn);
  readDropInDir(opts.etcDropIn ?? DEFAULT_ETC_DROPIN, raw, warn);
  const configDir = (cli[optionKey("config-dir")] as string | undefined) ?? (opts.env ?? process.env).TETRAGON_CONFIG_DIR;
  if (configDir) readDropInDir(configDir, raw, warn, true);
  readEnv(opts.env ?? process.env, raw);
  for (const f of FLAGS) {
    const v = cli[optionKey(f.name)];
    if (v !== undefined) raw.set(f.name, { value: v, source: `flag --${f.name}` });
  }

  const config = {} as AgentConfig;
  for (const f of FLAGS) {
    const r = raw.get(f.name);
    (config as Record<string, ConfigValue>)[f.name] = r ? coerce(f, r.value, r.source) : f.default;
  }
  if (config.debug) config["log-level"] = "debug";
  validate(config);
  return { kind: "run", config, warnings };
}

function validate(c: AgentConfig): void {
  const positive = ["process-cache-size", "export-file-max-size-mb", "event-queue-size"] as const;
  for (const k of positive) {
    if ((c[k] as number) <= 0) throw new ConfigError(`invalid value ${c[k]} for --${k}: must be positive`);
  }
  if (c["export-file-max-backups"] < 0) throw new ConfigError("invalid value for --export-file-max-backups: must not be negative");
  if (!/^[0-7]{3,4}$/.test(c["export-file-perm"])) throw new ConfigError(`invalid value ${JSON.stringify(c["export-file-perm"])} for --export-file-perm: expected octal permissions such as 600`);
  if (!["open", "closed"].includes(c["fanotify-fail"])) throw new ConfigError(`invalid value ${JSON.stringify(c["fanotify-fail"])} for --fanotify-fail: expected open or closed`);
  if (!["text", "json"].includes(c["log-format"])) throw new ConfigError(`invalid value ${JSON.stringify(c["log-format"])} for --log-format: expected text or json`);
  if (!["trace", "debug", "info", "warn", "warning", "error", "fatal", "panic"].includes(c["log-level"])) {
    throw new ConfigError(`invalid value ${JSON.stringify(c["log-level"])} for --log-level`);
  }
  const ancestorKinds = ["base", "kprobe", "tracepoint", "loader", "uprobe", "lsm", "usdt"];
  for (const a of c["enable-ancestors"]) {
    if (!ancestorKinds.includes(a)) throw new ConfigError(`invalid value ${JSON.stringify(a)} for --enable-ancestors: expected one of ${ancestorKinds.join(", ")}`);
  }
}

export { FLAGS, findFlag };
