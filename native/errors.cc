#include "errors.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <vector>

namespace tnative {
namespace {

constexpr size_t kMaxLines = 30;

struct Line {
  uint64_t seq;
  std::string text;
};

// libbpf prints from whichever thread calls it, so each thread keeps its own lines.
thread_local std::deque<Line> tlLines;
thread_local uint64_t tlSeq = 0;
thread_local int tlLevel = 0;
thread_local int tlScopeDepth = 0;
thread_local uint64_t tlMark = 0;  // sequence number when the outermost open scope began

void pushLine(std::string text) {
  tlLines.push_back(Line{++tlSeq, std::move(text)});
  while (tlLines.size() > kMaxLines) tlLines.pop_front();
}

int printCallback(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level != LIBBPF_WARN && tlLevel <= 0) return 0;
  va_list copy;
  va_copy(copy, args);
  int need = vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (need <= 0) return 0;
  std::vector<char> buf(static_cast<size_t>(need) + 1);
  vsnprintf(buf.data(), buf.size(), fmt, args);

  // A single call may carry a whole verifier log; keep it line by line.
  const char* p = buf.data();
  const char* end = p + need;
  while (p < end) {
    const char* nl = static_cast<const char*>(memchr(p, '\n', end - p));
    const char* stop = nl ? nl : end;
    if (stop > p) pushLine(std::string(p, stop));
    p = nl ? nl + 1 : end;
  }
  return need;
}

}  // namespace

void InstallLibbpfLogCapture() { libbpf_set_print(printCallback); }

OpScope::OpScope(int kernelLogLevel) : prevLevel_(tlLevel) {
  if (tlScopeDepth++ == 0) {
    tlMark = tlSeq;
    tlLevel = kernelLogLevel;
  } else if (kernelLogLevel > tlLevel) {
    tlLevel = kernelLogLevel;
  }
}

OpScope::~OpScope() {
  tlLevel = prevLevel_;
  --tlScopeDepth;
}

Napi::Error MakeErrnoError(Napi::Env env, const std::string& op, int err) {
  if (err < 0) err = -err;
  if (err == 0) err = EINVAL;

  // Lines newer than the outermost open scope's mark belong to this operation.
  uint64_t mark = tlScopeDepth > 0 ? tlMark : tlSeq;
  std::string msg = op + ": " + strerror(err);
  std::string lines;
  for (const Line& l : tlLines) {
    if (l.seq > mark) {
      lines += '\n';
      lines += l.text;
    }
  }
  msg += lines;

  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, err));
  const char* name = strerrorname_np(err);
  e.Set("code", Napi::String::New(env, name ? name : ("E" + std::to_string(err))));
  return e;
}

void ThrowErrno(Napi::Env env, const std::string& op, int err) { throw MakeErrnoError(env, op, err); }

}  // namespace tnative
