/**
 * Runs a command action: any error becomes one `Error: <message>` line on stderr and
 * exit code 1 (no stack trace; -d adds it for a non-CLI error).
 */
import { CliError, describeError } from "./errors";

export function exitWithError(err: unknown, debug = false): never {
  process.stderr.write(`Error: ${describeError(err)}\n`);
  if (debug && !(err instanceof CliError) && err instanceof Error && err.stack) process.stderr.write(err.stack + "\n");
  process.exit(err instanceof CliError ? err.exitCode : 1);
}

/** Wraps an async action for commander. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      exitWithError(err, process.argv.includes("-d") || process.argv.includes("--debug"));
    }
  };
}
