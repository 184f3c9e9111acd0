/**
 * Terminal colours of the compact encoder, as Tetragon's (fatih/color): each colour
 * wraps its text in `ESC[<n>m … ESC[0m` when enabled — even empty text, which Tetragon's
 * capability trailer relies on. "auto" enables colours only when the output is a
 * terminal, NO_COLOR is unset and TERM is not "dumb".
 */

export type ColorMode = "auto" | "always" | "never";

export const COLOR_MODES: readonly ColorMode[] = ["auto", "always", "never"];

export type Paint = (s: string) => string;

export interface Colorer {
  readonly enabled: boolean;
  readonly red: Paint;
  readonly green: Paint;
  readonly yellow: Paint;
  readonly blue: Paint;
  readonly magenta: Paint;
  readonly cyan: Paint;
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36 } as const;

function paint(code: number, enabled: boolean): Paint {
  if (!enabled) return (s) => s;
  const open = `\x1b[${code}m`;
  return (s) => `${open}${s}\x1b[0m`;
}

/** Whether "auto" turns colours on for an output that is (or is not) a terminal. */
export function autoColor(isTty: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  return isTty && env.NO_COLOR === undefined && env.TERM !== "dumb";
}

export function newColorer(mode: ColorMode, isTty = false, env: NodeJS.ProcessEnv = process.env): Colorer {
  const enabled = mode === "always" || (mode === "auto" && autoColor(isTty, env));
  return {
    enabled,
    red: paint(CODES.red, enabled),
    green: paint(CODES.green, enabled),
    yellow: paint(CODES.yellow, enabled),
    blue: paint(CODES.blue, enabled),
    magenta: paint(CODES.magenta, enabled),
    cyan: paint(CODES.cyan, enabled),
  };
}
