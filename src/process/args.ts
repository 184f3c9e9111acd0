/** Arguments as Tetragon prints them: joined by spaces, each one holding a space quoted. */
export function formatArguments(args: readonly string[]): string {
  let out = "";
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (i > 0) out += " ";
    out += a.includes(" ") ? `"${a}"` : a;
  }
  return out;
}

/** The binary as an absolute path: a relative execve filename is taken against the cwd. */
export function absoluteBinary(filename: string, cwd: string): string {
  if (filename.startsWith("/") || filename === "" || cwd === "") return filename;
  const base = cwd.endsWith("/") ? cwd : cwd + "/";
  const joined = base + (filename.startsWith("./") ? filename.slice(2) : filename);
  return normalize(joined);
}

function normalize(p: string): string {
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return "/" + out.join("/");
}
