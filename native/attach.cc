#include "attach.h"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "errors.h"

namespace tnative {
namespace {

std::string requireString(Napi::Env env, Napi::Object spec, const char* key, const std::string& op) {
  Napi::Value v = spec.Get(key);
  if (!v.IsString()) ThrowErrno(env, op + " (spec." + key + " must be a string)", EINVAL);
  return v.As<Napi::String>();
}

bool optBool(Napi::Object spec, const char* key) {
  Napi::Value v = spec.Get(key);
  return v.IsBoolean() && v.As<Napi::Boolean>().Value();
}

int64_t optInt(Napi::Object spec, const char* key, int64_t dflt) {
  Napi::Value v = spec.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int64Value() : dflt;
}

// libbpf 1.x returns NULL and sets errno on failure.
bpf_link* check(Napi::Env env, bpf_link* link, const std::string& op) {
  int err = errno;
  if (!link) ThrowErrno(env, op, err ? err : EINVAL);
  return link;
}

// BPF_RAW_TRACEPOINT_OPEN with a cookie (Linux 6.10+), which libbpf 1.1 cannot ask for.
int RawTracepointWithCookie(const std::string& name, int progFd, uint64_t cookie) {
  struct {
    uint64_t name;
    uint32_t prog_fd;
    uint32_t pad;
    uint64_t cookie;
  } attr{};
  attr.name = reinterpret_cast<uint64_t>(name.c_str());
  attr.prog_fd = static_cast<uint32_t>(progFd);
  attr.cookie = cookie;
  return static_cast<int>(syscall(__NR_bpf, BPF_RAW_TRACEPOINT_OPEN, &attr, sizeof(attr)));
}

bpf_link* AttachLink(Napi::Env env, bpf_program* prog, Napi::Object spec);

}  // namespace

void AttachProgram(Napi::Env env, bpf_program* prog, Napi::Object spec, LinkState& out) {
  Napi::Value cookie = spec.Get("cookie");
  std::string kind = requireString(env, spec, "kind", "attach");
  if (kind == "raw_tracepoint" && cookie.IsNumber()) {
    std::string name = requireString(env, spec, "name", "attach raw_tracepoint");
    std::string op = std::string("attach raw_tracepoint ") + bpf_program__name(prog) + " to " + name + " with a cookie";
    int fd = RawTracepointWithCookie(name, bpf_program__fd(prog), static_cast<uint64_t>(cookie.As<Napi::Number>().Int64Value()));
    if (fd < 0) {
      int err = errno;
      // older kernels reject the larger attribute: say what is missing
      ThrowErrno(env, err == E2BIG || err == EINVAL ? op + " (needs Linux 6.10 or later)" : op, err);
    }
    out.rawFd = fd;
    return;
  }
  out.link = AttachLink(env, prog, spec);
}

namespace {

bpf_link* AttachLink(Napi::Env env, bpf_program* prog, Napi::Object spec) {
  const std::string progName = bpf_program__name(prog);
  std::string kind = requireString(env, spec, "kind", "attach " + progName);
  std::string op = "attach " + kind + " " + progName;

  if (kind == "auto") {
    return check(env, bpf_program__attach(prog), op);
  }
  if (kind == "tracepoint") {
    std::string category = requireString(env, spec, "category", op);
    std::string name = requireString(env, spec, "name", op);
    op += " to " + category + "/" + name;
    bpf_tracepoint_opts opts{};
    opts.sz = sizeof(opts);
    opts.bpf_cookie = static_cast<__u64>(optInt(spec, "cookie", 0));
    return check(env, bpf_program__attach_tracepoint_opts(prog, category.c_str(), name.c_str(), &opts), op);
  }
  if (kind == "raw_tracepoint") {
    std::string name = requireString(env, spec, "name", op);
    op += " to " + name;
    return check(env, bpf_program__attach_raw_tracepoint(prog, name.c_str()), op);
  }
  if (kind == "tp_btf" || kind == "trace") {
    return check(env, bpf_program__attach_trace(prog), op);
  }
  if (kind == "lsm") {
    return check(env, bpf_program__attach_lsm(prog), op);
  }
  if (kind == "kprobe") {
    std::string func = requireString(env, spec, "func", op);
    op += " to " + func;
    bpf_kprobe_opts opts{};
    opts.sz = sizeof(opts);
    opts.retprobe = optBool(spec, "retprobe");
    opts.offset = static_cast<size_t>(optInt(spec, "offset", 0));
    opts.bpf_cookie = static_cast<__u64>(optInt(spec, "cookie", 0));
    return check(env, bpf_program__attach_kprobe_opts(prog, func.c_str(), &opts), op);
  }
  if (kind == "kprobe_multi") {
    // one link for many functions, each with its own cookie
    Napi::Value symsVal = spec.Get("syms");
    Napi::Value cookiesVal = spec.Get("cookies");
    if (!symsVal.IsArray() || !cookiesVal.IsArray()) ThrowErrno(env, op + " (spec.syms and spec.cookies must be arrays)", EINVAL);
    Napi::Array symsArr = symsVal.As<Napi::Array>();
    Napi::Array cookiesArr = cookiesVal.As<Napi::Array>();
    if (symsArr.Length() == 0 || symsArr.Length() != cookiesArr.Length()) ThrowErrno(env, op + " (syms and cookies differ in length)", EINVAL);
    std::vector<std::string> names;
    std::vector<const char*> syms;
    std::vector<__u64> cookies;
    for (uint32_t i = 0; i < symsArr.Length(); i++) {
      names.push_back(symsArr.Get(i).As<Napi::String>().Utf8Value());
      cookies.push_back(static_cast<__u64>(cookiesArr.Get(i).As<Napi::Number>().Int64Value()));
    }
    for (const auto& n : names) syms.push_back(n.c_str());
    op += " to " + std::to_string(names.size()) + " functions (" + names[0] + (names.size() > 1 ? ", ..." : "") + ")";
    bpf_kprobe_multi_opts opts{};
    opts.sz = sizeof(opts);
    opts.syms = syms.data();
    opts.cookies = cookies.data();
    opts.cnt = syms.size();
    opts.retprobe = optBool(spec, "retprobe");
    return check(env, bpf_program__attach_kprobe_multi_opts(prog, nullptr, &opts), op);
  }
  if (kind == "uprobe") {
    std::string binary = requireString(env, spec, "binary", op);
    Napi::Value funcVal = spec.Get("func");
    std::string func = funcVal.IsString() ? funcVal.As<Napi::String>().Utf8Value() : std::string();
    op += " to " + binary + (func.empty() ? "" : ":" + func);
    bpf_uprobe_opts opts{};
    opts.sz = sizeof(opts);
    opts.retprobe = optBool(spec, "retprobe");
    opts.func_name = func.empty() ? nullptr : func.c_str();
    opts.bpf_cookie = static_cast<__u64>(optInt(spec, "cookie", 0));
    opts.ref_ctr_offset = static_cast<size_t>(optInt(spec, "refCtrOffset", 0));
    pid_t pid = static_cast<pid_t>(optInt(spec, "pid", -1));
    size_t offset = static_cast<size_t>(optInt(spec, "offset", 0));
    return check(env, bpf_program__attach_uprobe_opts(prog, pid, binary.c_str(), offset, &opts), op);
  }
  if (kind == "cgroup") {
    std::string path = requireString(env, spec, "cgroupPath", op);
    op += " to " + path;
    int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      ThrowErrno(env, op + " (open)", err);
    }
    bpf_link* link = bpf_program__attach_cgroup(prog, fd);
    int err = errno;
    close(fd);  // the link keeps its own reference to the cgroup
    errno = err;
    return check(env, link, op);
  }
  ThrowErrno(env, op + " (unknown attach kind)", EINVAL);
}

}  // namespace
}  // namespace tnative
