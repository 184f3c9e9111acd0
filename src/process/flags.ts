/** msg_exec.flags to Tetragon's space-separated flag words, in Tetragon's order. */
import { ExecFlag } from "../decode/layout";

export function execFlagWords(flags: number, procFS = false): string {
  const words: string[] = [];
  if (flags & ExecFlag.EXECVE) words.push("execve");
  if (procFS) words.push("procFS");
  if (flags & ExecFlag.TRUNC_ARGS) words.push("truncArgs");
  if (flags & ExecFlag.MISS_PARENT) words.push("miss");
  if (flags & ExecFlag.ERROR_FILENAME) words.push("errorFilename");
  if (flags & ExecFlag.ERROR_ARGS) words.push("errorArgs");
  if (flags & ExecFlag.NO_CWD) words.push("nocwd");
  if (flags & ExecFlag.ROOT_CWD) words.push("rootcwd");
  if (flags & ExecFlag.ERROR_CWD) words.push("errorCWD");
  if (flags & ExecFlag.CLONE) words.push("clone");
  if (flags & ExecFlag.ERROR_CGROUP) words.push("errorCgroupName");
  if (flags & ExecFlag.TRUNC_CWD) words.push("errorPathResolutionCwd");
  if (flags & ExecFlag.TRUNC_FILENAME) words.push("dataFilename");
  return words.join(" ");
}
