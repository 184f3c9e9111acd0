/** The `tetra` command tree: global flags and one subcommand per file or folder. */
import { Command } from "commander";
import { addGlobalOptions } from "./common/options";
import { getEventsCommand } from "./getevents";
import { infoCommand } from "./info";
import { loglevelCommand } from "./loglevel";
import { probeCommand } from "./probe";
import { statusCommand } from "./status";
import { tracingPolicyCommand } from "./tracingpolicy";
import { versionCommand } from "./version";

export function buildProgram(): Command {
  const program = addGlobalOptions(new Command("tetra").description("Tetragon CLI"));
  for (const c of [getEventsCommand(), statusCommand(), versionCommand(), infoCommand(), probeCommand(), loglevelCommand(), tracingPolicyCommand()]) {
    program.addCommand(c);
  }
  program.exitOverride();
  return program;
}
