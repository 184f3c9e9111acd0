/** Structured logs (pino): JSON with --log-format json, one readable line per record otherwise. */
import pino from "pino";
import * as fs from "node:fs";

export type Logger = pino.Logger;

export interface LogConfig {
  level: string;
  format: "text" | "json";
  file?: string;
}

export function createLogger(cfg: LogConfig): Logger {
  const fd = cfg.file ? fs.openSync(cfg.file, "a") : 2;
  const dest = pino.destination({ fd, sync: true });
  if (cfg.format === "json") {
    return pino({ level: cfg.level, base: { component: "tetragon" }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
  }
  return pino(
    {
      level: cfg.level,
      base: undefined,
      timestamp: false,
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        streamWrite: (s: string) => textLine(s),
      },
    },
    dest,
  );
}

/** time="..." level=info msg="..." key=value, as Tetragon's text logs read. */
function textLine(json: string): string {
  try {
    const o = JSON.parse(json) as Record<string, unknown>;
    const { level, msg, ...rest } = o;
    let line = `time="${new Date().toISOString()}" level=${level} msg=${JSON.stringify(msg ?? "")}`;
    for (const [k, v] of Object.entries(rest)) {
      line += ` ${k}=${typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v)}`;
    }
    return line + "\n";
  } catch {
    return json;
  }
}
