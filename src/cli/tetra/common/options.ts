/** tetra's global flags (persistent on every command), parsed once per run. */
import type { Command } from "commander";
import { CliError } from "./errors";
import { parseDuration } from "./duration";
import { resolveServerAddress } from "./address";

export interface GlobalOptions {
  debug: boolean;
  serverAddress: string;
  timeoutMs: number;
  retries: number;
  maxRecvSize: number;
}

export function addGlobalOptions(cmd: Command): Command {
  return cmd
    .option("-d, --debug", "Enable debug messages", false)
    .option("--server-address <address>", "gRPC server address (default: from /var/run/tetragon/tetragon-info.json, else localhost:54321)")
    .option("--timeout <duration>", "Connection timeout", "30s")
    .option("--retries <n>", "Connection retries with exponential backoff", "1")
    .option("--max-recv-size <bytes>", "Max gRPC receive message size in bytes", "10485760");
}

export function globalOptions(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as Record<string, string | boolean | undefined>;
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration(String(o.timeout ?? "30s"));
  } catch (err) {
    throw new CliError(`invalid argument "${o.timeout}" for "--timeout" flag: ${(err as Error).message}`);
  }
  const retries = Number(o.retries ?? 1);
  if (!Number.isInteger(retries) || retries < 0) throw new CliError(`invalid argument "${o.retries}" for "--retries" flag`);
  const maxRecvSize = Number(o.maxRecvSize ?? 10485760);
  if (!Number.isInteger(maxRecvSize) || maxRecvSize <= 0) throw new CliError(`invalid argument "${o.maxRecvSize}" for "--max-recv-size" flag`);
  return {
    debug: o.debug === true,
    serverAddress: resolveServerAddress(typeof o.serverAddress === "string" ? o.serverAddress : ""),
    timeoutMs,
    retries,
    maxRecvSize,
  };
}

/** Debug output of tetra (-d), on stderr. */
export function debugLog(opts: { debug: boolean }, msg: string): void {
  if (opts.debug) process.stderr.write(`DEBUG: ${msg}\n`);
}
