/**
 * Reads the TAP that `node --test --test-reporter=tap` prints: the failed tests (their names
 * from the outermost suite down, and the error text of their YAML block), the outermost tests'
 * wall times, the skipped ones and the summary counts.
 */

export interface TapFailure {
  name: string;
  error: string;
}

export interface TapSummary {
  failures: TapFailure[];
  /** the outermost tests and suites (a file's describe() blocks) with their wall times */
  top: { name: string; ms: number }[];
  skipped: string[];
  counts: Record<string, number>;
}

const RESULT = /^(\s*)(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO)\b ?(.*))?$/;
const SUBTEST = /^(\s*)# Subtest: (.*)$/;

/** The value of `key` in a YAML block (node's: `key: 'one line'` or `key: |-` + indented lines). */
function yamlValue(block: string[], key: string): string | undefined {
  const i = block.findIndex((l) => l.trimStart().startsWith(`${key}:`));
  if (i < 0) return undefined;
  const indent = block[i].length - block[i].trimStart().length;
  const rest = block[i].trimStart().slice(key.length + 1).trim();
  if (rest !== "|-" && rest !== "|" && rest !== ">-") return rest.replace(/^'(.*)'$/s, "$1").replace(/''/g, "'");
  const lines: string[] = [];
  for (const l of block.slice(i + 1)) {
    if (l.trim() && l.length - l.trimStart().length <= indent) break;
    lines.push(l.slice(indent + 2));
  }
  return lines.join("\n");
}

export function parseTap(text: string): TapSummary {
  const lines = text.split("\n");
  const failures: TapFailure[] = [];
  const top: { name: string; ms: number }[] = [];
  const skipped: string[] = [];
  const counts: Record<string, number> = {};
  const names: string[] = []; // names[depth]: the subtest being run at that depth
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const count = /^# (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)$/.exec(line);
    if (count) counts[count[1]] = Number(count[2]);
    const sub = SUBTEST.exec(line);
    if (sub) {
      const depth = sub[1].length / 4;
      names.length = depth;
      names[depth] = sub[2];
      continue;
    }
    const m = RESULT.exec(line);
    if (!m) continue;
    const depth = m[1].length / 4;
    const name = [...names.slice(0, depth), m[3]].join(" > ");
    if (m[4] === "SKIP") skipped.push(m[5] ? `${name} (${m[5]})` : name);
    const block: string[] = [];
    if (lines[i + 1]?.trim() === "---") {
      for (let j = i + 2; j < lines.length && lines[j].trim() !== "..."; j++) block.push(lines[j]);
    }
    if (depth === 0) top.push({ name, ms: Number(yamlValue(block, "duration_ms") ?? NaN) });
    if (m[2] !== "not ok") continue;
    if (yamlValue(block, "failureType") === "subtestsFailed") continue;
    const where = yamlValue(block, "location");
    const error = yamlValue(block, "error") ?? "(no error text)";
    failures.push({ name, error: where ? `${error}\n(at ${where})` : error });
  }
  return { failures, top, skipped, counts };
}
