/** `tetra`'s entry point (bin/tetra): parses argv and runs the command. */
import { CommanderError } from "commander";
import { exitWithError } from "./common/run";
import { buildProgram } from "./program";

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help (also for a bare `tetra`, as cobra prints it) is not an error
      process.exit(["commander.help", "commander.helpDisplayed", "commander.version"].includes(err.code) ? 0 : err.exitCode);
    }
    exitWithError(err, process.argv.includes("-d") || process.argv.includes("--debug"));
  }
}

void main();
