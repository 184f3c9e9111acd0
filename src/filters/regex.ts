/**
 * RE2 (Go regexp) patterns compiled to JS RegExp.
 *
 * Tetragon compiles filter regexes with Go's RE2-based `regexp`. JS RegExp is
 * close but not identical, so patterns are translated where the syntax
 * differs and rejected where RE2 would reject them:
 *  - `(?P<name>re)` → `(?<name>re)`; leading `(?i)`, `(?m)`, `(?s)` → JS flags;
 *  - `\A`, `\z` → start / end of text; `\C` → any code unit; `\Q…\E` literal;
 *  - POSIX classes such as `[[:alpha:]]` expand to ranges;
 *  - a leading `]` in a class is literal (`[]a]`), as in RE2;
 *  - lookaround, backreferences, `(?U)` and `\p{…}` are refused.
 * Remaining differences (UTF-16 vs UTF-8 `.`, leftmost-first backtracking vs
 * RE2's linear-time matching) are accepted as an approximation.
 */
import { fieldError } from "./errors";

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

const JS_SPECIAL = /[\\^$.*+?()[\]{}|/-]/g;

function escapeLiteral(s: string): string {
  return s.replace(JS_SPECIAL, "\\$&");
}

export interface TranslatedRegex {
  readonly source: string;
  readonly flags: string;
}

/** Translates RE2 syntax to JS; throws Error(reason) for unsupported syntax. */
export function translateRe2(pattern: string): TranslatedRegex {
  let flags = "";
  let i = 0;
  // Leading flag groups: (?i), (?ims), (?i)(?s) ...
  for (;;) {
    const m = /^\(\?([a-zA-Z]+)\)/.exec(pattern.slice(i));
    if (m === null) break;
    for (const ch of m[1]) {
      if (ch === "i" || ch === "m" || ch === "s") {
        if (!flags.includes(ch)) flags += ch;
      } else if (ch === "U") {
        throw new Error("the ungreedy flag (?U) is not supported");
      } else {
        throw new Error(`invalid or unsupported Perl syntax: (?${m[1]})`);
      }
    }
    i += m[0].length;
  }

  let out = "";
  const n = pattern.length;
  while (i < n) {
    const c = pattern[i];
    if (c === "\\") {
      if (i + 1 >= n) throw new Error("trailing backslash at end of expression");
      const d = pattern[i + 1];
      if (d >= "1" && d <= "9") {
        throw new Error(`backreferences are not supported: \\${d}`);
      }
      switch (d) {
        case "A":
          out += "(?<![\\s\\S])";
          i += 2;
          continue;
        case "z":
          out += "(?![\\s\\S])";
          i += 2;
          continue;
        case "C":
          out += "[\\s\\S]";
          i += 2;
          continue;
        case "Q": {
          const end = pattern.indexOf("\\E", i + 2);
          const lit = end < 0 ? pattern.slice(i + 2) : pattern.slice(i + 2, end);
          out += escapeLiteral(lit);
          i = end < 0 ? n : end + 2;
          continue;
        }
        case "k":
          throw new Error("backreferences are not supported: \\k");
        case "p":
        case "P":
          throw new Error(`unicode classes are not supported: \\${d}`);
        default:
          out += c + d;
          i += 2;
          continue;
      }
    }
    if (c === "[") {
      const r = translateClass(pattern, i);
      out += r.text;
      i = r.next;
      continue;
    }
    if (c === "(" && pattern[i + 1] === "?") {
      const rest = pattern.slice(i + 2, i + 4);
      if (rest.startsWith("=") || rest.startsWith("!") || rest === "<=" || rest === "<!") {
        throw new Error("lookaround assertions are not supported");
      }
      if (rest === "P<") {
        out += "(?<";
        i += 4;
        continue;
      }
      if (rest === "P=" || rest === "P>") {
        throw new Error("backreferences are not supported");
      }
    }
    out += c;
    i += 1;
  }
  return { source: out, flags };
}

function translateClass(p: string, start: number): { text: string; next: number } {
  let i = start + 1;
  let text = "[";
  if (p[i] === "^") {
    text += "^";
    i++;
  }
  // A ']' right after '[' or '[^' is a literal in RE2 (JS would close an empty class).
  if (p[i] === "]") {
    text += "\\]";
    i++;
  }
  while (i < p.length) {
    const c = p[i];
    if (c === "]") return { text: text + "]", next: i + 1 };
    if (c === "\\") {
      if (i + 1 >= p.length) break;
      const d = p[i + 1];
      if (d === "p" || d === "P") throw new Error(`unicode classes are not supported: \\${d}`);
      text += c + d;
      i += 2;
      continue;
    }
    if (c === "[" && p[i + 1] === ":") {
      const end = p.indexOf(":]", i + 2);
      if (end > 0) {
        const name = p.slice(i + 2, end);
        if (name.startsWith("^")) {
          throw new Error(`negated POSIX classes are not supported: [:${name}:]`);
        }
        const expansion = POSIX_CLASSES[name];
        if (expansion === undefined) throw new Error(`invalid character class range: [:${name}:]`);
        text += expansion;
        i = end + 2;
        continue;
      }
    }
    if (c === "[") {
      text += "\\[";
      i++;
      continue;
    }
    text += c;
    i++;
  }
  throw new Error(`missing closing ]: ${p.slice(start)}`);
}

/**
 * Compiles one RE2 pattern. Errors become a FilterError naming `field`,
 * e.g. `allow_list[0].binary_regex[1]: invalid regex "(": ...`.
 * `extraFlags` adds JS flags (e.g. "gd" for replacement loops).
 */
export function compileRegex(pattern: string, field: string, extraFlags = ""): RegExp {
  try {
    const t = translateRe2(pattern);
    return new RegExp(t.source, t.flags + extraFlags);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw fieldError(field, `invalid regex ${JSON.stringify(pattern)}: ${reason}`);
  }
}

/** Compiles `patterns` reporting errors as `<field>[i]`. */
export function compileRegexList(patterns: readonly string[], field: string, extraFlags = ""): RegExp[] {
  const out: RegExp[] = new Array<RegExp>(patterns.length);
  for (let i = 0; i < patterns.length; i++) {
    out[i] = compileRegex(patterns[i], `${field}[${i}]`, extraFlags);
  }
  return out;
}

/** True when any regex matches `s`. Regexes must not carry the `g`/`y` flags. */
export function anyRegexMatches(res: readonly RegExp[], s: string): boolean {
  for (let i = 0; i < res.length; i++) {
    if (res[i].test(s)) return true;
  }
  return false;
}
