/**
 * Go's strconv.Quote for the compact encoder: a double-quoted string with Go escapes
 * (\a \b \f \n \r \t \v \\ \", \xNN, \uNNNN, \UNNNNNNNN) for every rune that is not
 * printable in the sense of Go's unicode.IsPrint (letters, marks, numbers, punctuation,
 * symbols and the ASCII space).
 */

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const NEEDS_QUOTE = /[^\p{L}\p{M}\p{N}\p{P}\p{S}]/u;

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  "\x07": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
  "\\": "\\\\",
  '"': '\\"',
};

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/** strconv.Quote(s). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const short = SHORT_ESCAPES[ch];
    if (short !== undefined) {
      out += short;
      continue;
    }
    const cp = ch.codePointAt(0)!;
    if (PRINTABLE.test(ch)) out += ch;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += "\\ufffd"; // a lone surrogate: invalid UTF-8 in Go
    else if (cp < 0x80) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x10000) out += `\\u${hex(cp, 4)}`;
    else out += `\\U${hex(cp, 8)}`;
  }
  return out + '"';
}

/** True when `s` holds a space or a rune that is not printable. */
export function needsQuote(s: string): boolean {
  return NEEDS_QUOTE.test(s);
}

/** `s` itself when it is all printable and space-free, else goQuote(s). */
export function quoteIfNeeded(s: string): string {
  return needsQuote(s) ? goQuote(s) : s;
}

/** `s` itself unless it holds a non-printable rune (spaces are fine), else goQuote(s). */
export function quoteIfUnprintable(s: string): string {
  for (const ch of s) {
    if (ch !== " " && !PRINTABLE.test(ch)) return goQuote(s);
  }
  return s;
}
