/** `tetra loglevel get|set <level>` (alias `log`): the agent's log level via GetDebug/SetDebug. */
import { Command } from "commander";
import { ConfigFlag, FineGuidanceSensors, LogLevel } from "../../api/gen/tetragon/sensors_pb";
import { withClient } from "./common/client";
import { CliError, rpcFailure } from "./common/errors";
import { globalOptions } from "./common/options";
import { action } from "./common/run";

const LEVELS: Record<string, LogLevel> = {
  panic: LogLevel.PANIC, fatal: LogLevel.FATAL, error: LogLevel.ERROR, warn: LogLevel.WARN, warning: LogLevel.WARN,
  info: LogLevel.INFO, debug: LogLevel.DEBUG, trace: LogLevel.TRACE,
};

function levelName(l: LogLevel): string {
  return (LogLevel[l] ?? "UNKNOWN").toLowerCase();
}

export function loglevelCommand(): Command {
  const cmd = new Command("loglevel").alias("log").description("Get and dynamically change the log level");
  cmd.command("get").description("Print the current log level").action(action(async (_o, c: Command) => {
    await withClient(globalOptions(c), async (cl) => {
      const res = await cl.unary(FineGuidanceSensors.method.getDebug, { flag: ConfigFlag.LOG_LEVEL }).catch((e) => {
        throw rpcFailure("failed to get log level", e);
      });
      process.stdout.write(`Current log level: ${res.arg.case === "level" ? levelName(res.arg.value) : "unknown"}\n`);
    });
  }));
  cmd.command("set <level>").description("Set the log level (trace, debug, info, warn, error, fatal, panic)").action(action(async (level: string, _o, c: Command) => {
    const l = LEVELS[level.toLowerCase()];
    if (l === undefined) throw new CliError(`invalid log level ${JSON.stringify(level)}`);
    await withClient(globalOptions(c), async (cl) => {
      const res = await cl.unary(FineGuidanceSensors.method.setDebug, { flag: ConfigFlag.LOG_LEVEL, arg: { case: "level", value: l } }).catch((e) => {
        throw rpcFailure("failed to set log level", e);
      });
      process.stdout.write(`Log level set to: ${res.arg.case === "level" ? levelName(res.arg.value) : level}\n`);
    });
  }));
  return cmd;
}
