/**
 * Reading configuration from files and the environment, Tetragon's way: drop-in
 * directories (one file per flag), tetragon.yaml files (flag names as keys), and
 * TETRAGON_<FLAG_NAME> variables. Later sources override earlier ones.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { findFlag } from "./flags";

export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConfigError";
  }
}

export interface RawSetting {
  value: unknown;
  source: string;
}

export type RawSettings = Map<string, RawSetting>;

export const DEFAULT_DROPIN_DIRS = [
  "/usr/lib/tetragon/tetragon.conf.d",
  "/usr/local/lib/tetragon/tetragon.conf.d",
];
export const DEFAULT_YAML_FILES = ["/etc/tetragon/tetragon.yaml"];
export const DEFAULT_ETC_DROPIN = "/etc/tetragon/tetragon.conf.d";

export function readDropInDir(dir: string, into: RawSettings, warn: (msg: string) => void, required = false): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" && !required) return;
    throw new ConfigError(`read config directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
  for (const name of names.sort()) {
    const file = path.join(dir, name);
    if (name.startsWith(".")) continue;
    if (!findFlag(name)) {
      warn(`ignoring ${file}: no flag named --${name}`);
      continue;
    }
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (err) {
      throw new ConfigError(`read config file ${file}: ${(err as Error).message}`, { cause: err });
    }
    into.set(name, { value: text.trim(), source: file });
  }
}

export function readYamlFile(file: string, into: RawSettings, warn: (msg: string) => void): void {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new ConfigError(`read config file ${file}: ${(err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new ConfigError(`parse config file ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (doc === null || doc === undefined) return;
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new ConfigError(`parse config file ${file}: expected a mapping of flag names to values`);
  }
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if (!findFlag(k)) {
      warn(`ignoring key ${k} in ${file}: no flag named --${k}`);
      continue;
    }
    into.set(k, { value: v, source: file });
  }
}

export function readEnv(env: NodeJS.ProcessEnv, into: RawSettings): void {
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith("TETRAGON_") || v === undefined) continue;
    const name = k.slice("TETRAGON_".length).toLowerCase().replace(/_/g, "-");
    if (findFlag(name)) into.set(name, { value: v, source: `environment variable ${k}` });
  }
}
