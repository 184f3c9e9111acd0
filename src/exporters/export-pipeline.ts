/** The export's filters, built once from the flags: allow/deny lists, then field and redaction filters. */
import type { AgentConfig } from "../config";
import type { GetEventsResponse } from "../api/gen/tetragon/events_pb";
import {
  compileEventFilter, compileFieldFilters, compileRedactionFilters, parseFieldFilterLines, parseFilterLines,
  parseRedactionFilterLines,
} from "../filters";
import { ConfigError } from "../config";

export interface ExportPipeline {
  filter: (ev: GetEventsResponse) => boolean;
  transform: (ev: GetEventsResponse) => GetEventsResponse;
}

export function buildExportPipeline(cfg: AgentConfig): ExportPipeline {
  try {
    const pidSet = { enablePidSetFilter: cfg["enable-pid-set-filter"] };
    const allow = parseFilterLines(cfg["export-allowlist"], "--export-allowlist", pidSet);
    const deny = parseFilterLines(cfg["export-denylist"], "--export-denylist", pidSet);
    const filter = compileEventFilter(allow, deny);
    const fields = compileFieldFilters(parseFieldFilterLines(cfg["field-filters"], "--field-filters"));
    const redact = compileRedactionFilters(parseRedactionFilterLines(cfg["redaction-filters"], "--redaction-filters"));
    return { filter, transform: (ev) => fields(redact(ev)) };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError((err as Error).message, { cause: err });
  }
}
