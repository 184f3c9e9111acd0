#include "fanotify.h"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <string>
#include <system_error>

#include "errors.h"

namespace tnative {
namespace {

// deny_map value, written by the sys_enter BPF programs (keep in sync with the BPF side).
struct deny_entry {
  int32_t err;
  uint32_t kinds;
  uint64_t ktime;  // bpf_ktime_get_boot_ns()
  uint32_t hook_id;
  uint32_t verdict;  // 1 deny, 0 allow
  uint64_t regs;     // call-bound decisions (cgroup-routed) only; opens are never bound
  int64_t nr;
};
static_assert(sizeof(deny_entry) == 40, "deny_entry is 40 bytes");

constexpr uint32_t DENY_K_OPEN = 0x1;
constexpr uint32_t DENY_K_EXEC = 0x2;
constexpr uint64_t kMaxAgeNs = 10ull * 1000000000ull;  // older decisions are not trusted
constexpr size_t kReadBuf = 64 * 1024;
// after a burst, how long the thread keeps polling the queue before it sleeps in poll()
constexpr uint64_t kSpinNs = 50 * 1000;

uint64_t nowBootNs() {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Single writer: a plain load+store avoids a locked instruction on the answering path.
inline void bump(std::atomic<uint64_t>& c, uint64_t by = 1) {
  c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

int bucketOf(uint64_t ns) {
  if (ns < 128) return 0;
  int msb = 63 - __builtin_clzll(ns);  // >= 7
  int sub = static_cast<int>((ns >> (msb - 2)) & 3);
  int idx = 1 + (msb - 7) * 4 + sub;
  return idx < GuardCore::kHistBuckets ? idx : GuardCore::kHistBuckets - 1;
}

// Exclusive upper bound of a bucket, in ns.
uint64_t bucketLimit(int idx) {
  if (idx == 0) return 128;
  int msb = 7 + (idx - 1) / 4;
  uint64_t sub = static_cast<uint64_t>((idx - 1) % 4);
  return (5 + sub) << (msb - 2);
}

void closeFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

}  // namespace

GuardCore::~GuardCore() { Shutdown(); }

void GuardCore::Shutdown() {
  if (thread.joinable()) {
    stopping.store(true, std::memory_order_relaxed);
    uint64_t one = 1;
    ssize_t w;
    do {
      w = write(stopFd, &one, sizeof(one));
    } while (w < 0 && errno == EINTR);
    thread.join();
  }
  // Closing the group makes the kernel allow every event still waiting for an answer.
  closeFd(fanFd);
  closeFd(stopFd);
  closeFd(mapFd);
}

void GuardCore::Answer(const fanotify_event_metadata* m, uint64_t readNs) {
  uint32_t kinds = 0;
  if (m->mask & FAN_OPEN_PERM) {
    kinds |= DENY_K_OPEN;
    bump(openEvents);
  }
  if (m->mask & FAN_OPEN_EXEC_PERM) {
    kinds |= DENY_K_EXEC;
    bump(execEvents);
  }
  bump(events);

  uint32_t response = FAN_ALLOW;
  int32_t pid = m->pid;
  // the agent's own threads: a cheap compare first; the tgkill probe only where it decides
  bool self = pid == ownPid;
  if (self) {
    bump(own);
  } else {
    bool decided = false;
    uint32_t key = static_cast<uint32_t>(pid);
    deny_entry e;
    if (bpf_map_lookup_elem(mapFd, &key, &e) == 0) {
      // A decision written after read() returned is fresh, not "from the future".
      uint64_t age = readNs > e.ktime ? readNs - e.ktime : 0;
      if ((e.kinds & kinds) != 0 && age < kMaxAgeNs) {
        decided = true;
        if (e.verdict != 0) {
          response = FAN_DENY;
          bump(denied);
        } else {
          bump(allowed);
        }
      }
    } else if (errno != ENOENT) {
      bump(errors);
    }
    if (!decided && failClosed && reportTid && syscall(SYS_tgkill, ownPid, pid, 0) == 0) {
      decided = true;  // a thread of the agent (no hook sees the agent's calls)
      bump(own);
    }
    if (!decided) {
      bump(unknown);
      if (failClosed) {
        response = FAN_DENY;
        bump(unknownDenied);
      }
    }
  }

  if (m->fd >= 0) {
    struct fanotify_response r = {m->fd, response};
    ssize_t w;
    do {
      w = write(fanFd, &r, sizeof(r));
    } while (w < 0 && errno == EINTR);
    if (w != static_cast<ssize_t>(sizeof(r))) bump(errors);
    uint64_t took = nowBootNs() - readNs;
    bump(answerNsSum, took);
    if (took > answerNsMax.load(std::memory_order_relaxed)) answerNsMax.store(took, std::memory_order_relaxed);
    bump(hist[bucketOf(took)]);
    close(m->fd);
  } else {
    bump(errors);  // a permission event without a file cannot be answered
  }
}

int GuardCore::Drain() {
  alignas(fanotify_event_metadata) char buf[kReadBuf];
  int reads = 0;
  for (;;) {
    ssize_t len = read(fanFd, buf, sizeof(buf));
    if (len < 0) {
      if (errno == EINTR) continue;
      // EAGAIN: queue empty. Other errors concern one event, which the kernel denied.
      if (errno != EAGAIN) bump(errors);
      return reads;
    }
    if (len == 0) return reads;
    reads++;
    uint64_t readNs = nowBootNs();
    auto* m = reinterpret_cast<const fanotify_event_metadata*>(buf);
    for (; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
      if (m->mask & FAN_Q_OVERFLOW) {
        bump(overflows);
        continue;
      }
      if (m->vers != FANOTIFY_METADATA_VERSION) bump(errors);  // still answered: the layout prefix is stable
      Answer(m, readNs);
    }
  }
}

void GuardCore::Run() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);  // signals are for Node's threads
  struct pollfd fds[2] = {{fanFd, POLLIN, 0}, {stopFd, POLLIN, 0}};
  for (;;) {
    int n = poll(fds, 2, -1);
    if (n < 0) {
      if (errno != EINTR) {
        bump(errors);
        usleep(1000);  // never leave: events would wait until close()
      }
      continue;
    }
    if (fds[1].revents) break;
    if (fds[0].revents && Drain() > 0) {
      // Events come in bursts (a process opening files): a thread put to sleep pays a
      // wake-up (tens of µs on a VM) on the next one, so it polls the queue for a while.
      uint64_t until = nowBootNs() + kSpinNs;
      while (!stopping.load(std::memory_order_relaxed) && nowBootNs() < until) {
        if (Drain() > 0) until = nowBootNs() + kSpinNs;
      }
    }
  }
}

void FanotifyGuard::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "FanotifyGuard",
                                    {
                                        InstanceMethod<&FanotifyGuard::Mark>("mark"),
                                        InstanceMethod<&FanotifyGuard::Start>("start"),
                                        InstanceMethod<&FanotifyGuard::Close>("close"),
                                        InstanceMethod<&FanotifyGuard::Stats>("stats"),
                                        InstanceAccessor<&FanotifyGuard::ReportTid>("reportTid"),
                                    });
  exports.Set("FanotifyGuard", ctor);
}

FanotifyGuard::FanotifyGuard(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FanotifyGuard>(info) {
  Napi::Env env = info.Env();
  OpScope scope;
  if (!info[0].IsObject()) ThrowErrno(env, "FanotifyGuard (options object expected)", EINVAL);
  Napi::Object o = info[0].As<Napi::Object>();
  Napi::Value fdv = o.Get("denyMapFd");
  if (!fdv.IsNumber()) ThrowErrno(env, "FanotifyGuard (denyMapFd must be a number)", EINVAL);
  int fd = fdv.As<Napi::Number>().Int32Value();
  const std::string what = "FanotifyGuard deny_map fd " + std::to_string(fd);

  bpf_map_info mi{};
  __u32 miLen = sizeof(mi);
  if (int err = bpf_obj_get_info_by_fd(fd, &mi, &miLen)) ThrowErrno(env, what, err);
  // Per-CPU maps would need a value buffer per CPU; the BPF side uses a plain (LRU) hash.
  if (mi.type != BPF_MAP_TYPE_HASH && mi.type != BPF_MAP_TYPE_LRU_HASH)
    ThrowErrno(env, what + " (must be a hash or LRU hash map, got type " + std::to_string(mi.type) + ")", EINVAL);
  if (mi.key_size != 4 || mi.value_size != sizeof(deny_entry))
    ThrowErrno(env,
               what + " (key 4 / value " + std::to_string(sizeof(deny_entry)) + " bytes expected, got " + std::to_string(mi.key_size) + " / " +
                   std::to_string(mi.value_size) + ")",
               EINVAL);

  c_ = std::make_unique<GuardCore>();
  Napi::Value fc = o.Get("failClosed");
  c_->failClosed = fc.IsBoolean() && fc.As<Napi::Boolean>().Value();
  c_->ownPid = getpid();

  c_->mapFd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (c_->mapFd < 0) ThrowErrno(env, what + " (dup)", errno);
  c_->stopFd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (c_->stopFd < 0) ThrowErrno(env, "FanotifyGuard eventfd", errno);

  const unsigned evFlags = O_RDONLY | O_LARGEFILE | O_CLOEXEC;
  const unsigned base = FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK;
  c_->fanFd = fanotify_init(base | FAN_REPORT_TID, evFlags);
  if (c_->fanFd < 0 && errno == EINVAL) {
    // Kernels before 5.1 do not know FAN_REPORT_TID: events then carry the tgid.
    c_->fanFd = fanotify_init(base, evFlags);
    c_->reportTid = false;
  }
  if (c_->fanFd < 0) ThrowErrno(env, "fanotify_init", errno);
}

FanotifyGuard::~FanotifyGuard() {
  // Collected without close(): stop and join here (the thread never waits on JS).
  if (c_) c_->Shutdown();
}

void FanotifyGuard::Mark(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) ThrowErrno(env, "fanotify mark (path must be a string)", EINVAL);
  std::string path = info[0].As<Napi::String>();
  const std::string op = "fanotify mark " + path;
  if (closed_) ThrowErrno(env, op + " (guard closed)", EBADF);
  std::string kind = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";

  uint64_t mask = 0;
  if (info[2].IsObject()) {
    Napi::Object ev = info[2].As<Napi::Object>();
    if (ev.Get("open").ToBoolean()) mask |= FAN_OPEN_PERM;
    if (ev.Get("exec").ToBoolean()) mask |= FAN_OPEN_EXEC_PERM;
  }
  if (mask == 0) ThrowErrno(env, op + " (events must include open or exec)", EINVAL);

  // FAN_ONDIR: opening a marked directory (or a subdirectory of a "dir" mark) is checked too.
  unsigned flags = FAN_MARK_ADD;
  mask |= FAN_ONDIR;
  if (kind == "dir") {
    flags |= FAN_MARK_ONLYDIR;
    mask |= FAN_EVENT_ON_CHILD;
  } else if (kind == "mount") {
    flags |= FAN_MARK_MOUNT;
  } else if (kind != "inode") {
    ThrowErrno(env, op + " (kind must be \"inode\", \"dir\" or \"mount\")", EINVAL);
  }
  if (fanotify_mark(c_->fanFd, flags, mask, AT_FDCWD, path.c_str()) != 0) ThrowErrno(env, op, errno);
}

void FanotifyGuard::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) ThrowErrno(env, "FanotifyGuard.start (guard closed)", EBADF);
  if (started_) ThrowErrno(env, "FanotifyGuard.start (already started)", EALREADY);
  try {
    GuardCore* c = c_.get();
    c_->thread = std::thread([c] { c->Run(); });
  } catch (const std::system_error& e) {
    ThrowErrno(env, "FanotifyGuard.start (thread)", e.code().value());
  }
  started_ = true;
}

void FanotifyGuard::Close(const Napi::CallbackInfo& info) {
  if (closed_) return;
  closed_ = true;
  c_->Shutdown();
}

Napi::Value FanotifyGuard::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  auto num = [&](const char* k, const std::atomic<uint64_t>& v) {
    o.Set(k, Napi::Number::New(env, static_cast<double>(v.load(std::memory_order_relaxed))));
  };
  num("events", c_->events);
  num("allowed", c_->allowed);
  num("denied", c_->denied);
  num("unknown", c_->unknown);
  num("unknownDenied", c_->unknownDenied);
  num("own", c_->own);
  num("errors", c_->errors);
  num("overflows", c_->overflows);
  num("openEvents", c_->openEvents);
  num("execEvents", c_->execEvents);
  num("answerNsSum", c_->answerNsSum);
  num("answerNsMax", c_->answerNsMax);
  Napi::Array hist = Napi::Array::New(env);
  uint32_t n = 0;
  for (int i = 0; i < GuardCore::kHistBuckets; i++) {
    uint64_t count = c_->hist[i].load(std::memory_order_relaxed);
    if (!count) continue;
    Napi::Object b = Napi::Object::New(env);
    b.Set("belowNs", Napi::Number::New(env, static_cast<double>(bucketLimit(i))));
    b.Set("count", Napi::Number::New(env, static_cast<double>(count)));
    hist.Set(n++, b);
  }
  o.Set("answerHistogram", hist);
  return o;
}

Napi::Value FanotifyGuard::ReportTid(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c_->reportTid);
}

}  // namespace tnative
