// libbpf log capture and errno-carrying JS errors.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace tnative {

// Installs the libbpf print callback (nothing goes to stderr; lines are kept in a per-thread ring).
void InstallLibbpfLogCapture();

// Marks the start of an operation: libbpf lines printed from now on are appended to a
// thrown error's message. `kernelLogLevel > 0` also captures INFO/DEBUG lines.
class OpScope {
 public:
  explicit OpScope(int kernelLogLevel = 0);
  ~OpScope();
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;
 private:
  int prevLevel_;
};

// Builds an Error {errno, code, message = "<op>: <strerror>\n<libbpf lines since scope began>"}.
Napi::Error MakeErrnoError(Napi::Env env, const std::string& op, int err);

// Throws MakeErrnoError; `err` may be negative (libbpf style) or positive.
[[noreturn]] void ThrowErrno(Napi::Env env, const std::string& op, int err);

}  // namespace tnative
