/** `tetragon`: the agent's entry point. */
import { parseConfig, ConfigError } from "../../config";
import { createLogger } from "../../log/logger";
import { Agent } from "../../agent/agent";

function describe(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  while (e) {
    parts.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? (e as Error & { cause?: unknown }).cause : undefined;
  }
  return parts.join(": ");
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseConfig(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`tetragon: ${describe(err)}\n`);
    return err instanceof ConfigError ? 2 : 1;
  }
  if (parsed.kind === "exit") {
    (parsed.code === 0 ? process.stdout : process.stderr).write(parsed.output);
    return parsed.code;
  }
  const cfg = parsed.config;
  const log = createLogger({
    level: cfg["log-level"] === "warning" ? "warn" : cfg["log-level"] === "panic" ? "fatal" : cfg["log-level"],
    format: cfg["log-format"] as "text" | "json",
    file: cfg["log-file"] || undefined,
  });
  for (const w of parsed.warnings) log.warn(w);
  const agent = new Agent(cfg, log);
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    if (stopping) return;
    log.info({ signal }, "stopping");
    stopping = agent.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err: describe(err) }, "stop failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  try {
    await agent.start();
  } catch (err) {
    log.error({ err: describe(err) }, "failed to start");
    await agent.stop().catch(() => undefined);
    return 1;
  }
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    process.stderr.write(`tetragon: ${describe(err)}\n`);
    process.exit(1);
  },
);
