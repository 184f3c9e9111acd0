/**
 * `tetra getevents`: print events from the agent (or from stdin when it is a pipe or a
 * file), as JSON lines (default) or compact lines, filtered by the flags.
 */
import { Command } from "commander";
import { COLOR_MODES, newColorer, type ColorMode } from "../../../encode/color";
import { CliError } from "../common/errors";
import { parseDuration } from "../common/duration";
import { debugLog, globalOptions } from "../common/options";
import { action } from "../common/run";
import { EventWriter } from "./output";
import { buildRequest } from "./request";
import { readEventsFromStdin, stdinHasEvents } from "./stdin";
import { streamEvents } from "./stream";

const DOC = `This command prints and filter events by connecting to the server or via
redirection of events to the stdin. Examples:

  # Connect, print and filter by process events
  tetra getevents --process netserver

  # Redirect events and filter by namespace from stdin
  cat events.json | tetra getevents -o compact --namespace default

  # Exclude parent field
  tetra getevents -F parent

  # Include only process and parent.pod fields
  tetra getevents -f process,parent.pod`;

const list = (v: string, prev: string[]): string[] => prev.concat(v.split(",").map((s) => s.trim()).filter((s) => s !== ""));
const bool = (v: string | undefined): boolean => v === undefined || !["false", "0", "f", "no"].includes(v.toLowerCase());

interface Flags {
  output: string;
  color: string;
  includeFields: string[];
  excludeFields: string[];
  eventTypes: string[];
  namespaces: string[];
  namespace: string[];
  processes: string[];
  process: string[];
  pods: string[];
  pod: string[];
  host: boolean;
  timestamps: boolean;
  ttyEncode?: string;
  policyNames: string[];
  namespaceRegex: string[];
  celExpression: string[];
  reconnect: boolean;
  reconnectWait: string;
}

export function getEventsCommand(): Command {
  return new Command("getevents")
    .description("Print events")
    .addHelpText("after", "\n" + DOC)
    .option("-o, --output <format>", "Output format. json or compact", "json")
    .option("--color <mode>", "Colorize compact output. auto, always, or never", "auto")
    .option("-f, --include-fields <fields>", "Include only fields in events", list, [])
    .option("-F, --exclude-fields <fields>", "Exclude fields from events", list, [])
    .option("-e, --event-types <types>", "Include only events of given types", list, [])
    .option("-n, --namespaces <namespaces>", "Get events by Kubernetes namespaces", list, [])
    .option("--namespace <namespaces>", "Get events by Kubernetes namespace (deprecated: use --namespaces)", list, [])
    .option("--processes <regexes>", "Get events by processes name regex", list, [])
    .option("--process <regexes>", "Get events by process name regex", list, [])
    .option("--pods <regexes>", "Get events by pods name regex", list, [])
    .option("--pod <regexes>", "Get events by pod name regex", list, [])
    .option("--host", "Get host events", false)
    .option("--timestamps", "Include timestamps in compact output", false)
    .option("-t, --tty-encode <path>", "Encode terminal data by file path (all other events will be ignored)")
    .option("--stack-traces [bool]", "Include stack traces in compact output", bool, true)
    .option("--ima-hash [bool]", "Include ima hashes in compact output", bool, true)
    .option("--policy-names <names>", "Get events by tracing policy names", list, [])
    .option("--namespace-regex <regexes>", "Get events by Kubernetes namespace regex", list, [])
    .option("--cel-expression <exprs>", "Get events satisfying the CEL expression", list, [])
    .option("--reconnect", "Keep trying to connect even if an error occurred", false)
    .option("--reconnect-wait <duration>", "Time to wait before attempting to reconnect", "2s")
    .action(action(async (f: Flags, cmd: Command) => {
      if (f.output !== "json" && f.output !== "compact") throw new CliError(`invalid value for "output" flag: ${f.output}`);
      if (!COLOR_MODES.includes(f.color as ColorMode)) throw new CliError(`invalid value for "color" flag: ${f.color}`);
      let reconnectWaitMs: number;
      try {
        reconnectWaitMs = parseDuration(f.reconnectWait);
      } catch (err) {
        throw new CliError(`invalid argument "${f.reconnectWait}" for "--reconnect-wait" flag: ${(err as Error).message}`);
      }
      const req = buildRequest({
        eventTypes: f.eventTypes,
        namespaces: [...f.namespaces, ...f.namespace],
        processes: [...f.processes, ...f.process],
        pods: [...f.pods, ...f.pod],
        host: f.host,
        policyNames: f.policyNames,
        namespaceRegex: f.namespaceRegex,
        celExpression: f.celExpression,
        includeFields: f.includeFields,
        excludeFields: f.excludeFields,
      });
      const debug = (cmd.optsWithGlobals() as { debug?: boolean }).debug === true;
      const log = (m: string) => debugLog({ debug }, m);
      process.stdout.on("error", (err: NodeJS.ErrnoException) => {
        if (err.code === "EPIPE") process.exit(0);
        throw err;
      });
      const writer = new EventWriter({
        format: f.output,
        colorer: newColorer(f.color as ColorMode, process.stdout.isTTY === true),
        timestamps: f.timestamps,
        ttyEncode: f.ttyEncode,
        debug: log,
      });
      if (stdinHasEvents()) {
        log("reading events from stdin");
        await readEventsFromStdin(req, writer, log);
        return;
      }
      await streamEvents(globalOptions(cmd), { reconnect: f.reconnect, reconnectWaitMs }, req, writer);
    }));
}
