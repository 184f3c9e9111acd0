/** `tetra version [-s] [-b]`: `CLI version: X`, `Server version: Y` (GetVersion). */
import { Command } from "commander";
import { FineGuidanceSensors } from "../../api/gen/tetragon/sensors_pb";
import { withClient } from "./common/client";
import { rpcFailure } from "./common/errors";
import { globalOptions } from "./common/options";
import { action } from "./common/run";

export const CLI_VERSION: string = require("../../../../package.json").version;

export function versionCommand(): Command {
  return new Command("version")
    .description("Print version from CLI and server")
    .option("-s, --server", "Connect and retrieve version from the server", false)
    .option("-b, --build", "Show CLI build information", false)
    .action(action(async (opts: { server: boolean; build: boolean }, cmd: Command) => {
      process.stdout.write(`CLI version: ${CLI_VERSION}\n`);
      if (opts.server) {
        await withClient(globalOptions(cmd), async (c) => {
          const res = await c.unary(FineGuidanceSensors.method.getVersion, {}).catch((e) => {
            throw rpcFailure("error retrieving server version", e);
          });
          process.stdout.write(`Server version: ${res.version}\n`);
        });
      }
      if (opts.build) {
        process.stdout.write(`Runtime: node ${process.version}\nPlatform: ${process.platform}/${process.arch}\n`);
      }
    }));
}
