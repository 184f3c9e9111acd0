// Override without kprobes/BPF-LSM: a native thread answers fanotify permission events
// (FAN_OPEN_PERM / FAN_OPEN_EXEC_PERM) from deny_map, which a sys_enter BPF program fills
// with per-thread decisions. No JavaScript runs on the answering path.
#pragma once

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

struct fanotify_event_metadata;

namespace tnative {

// Everything the answering thread touches; owned by the JS wrapper, which joins the thread
// before dropping it (close() or the destructor).
struct GuardCore {
  static constexpr int kHistBuckets = 113;  // [0,128 ns), then 4 buckets per power of two up to 2^35 ns (~34 s)

  ~GuardCore();
  void Run();
  // Answers what is queued; returns how many reads found events.
  int Drain();
  void Answer(const ::fanotify_event_metadata* m, uint64_t readNs);
  // Stops and joins the thread, closes every fd. Idempotent.
  void Shutdown();

  int fanFd = -1;
  int stopFd = -1;  // eventfd
  int mapFd = -1;   // our own dup of deny_map
  bool failClosed = false;
  bool reportTid = true;  // false: fanotify reports the tgid (FAN_REPORT_TID refused)
  int ownPid = 0;
  std::atomic<bool> stopping{false};
  std::thread thread;

  // Written by the answering thread only (relaxed), read by JS.
  std::atomic<uint64_t> events{0}, allowed{0}, denied{0}, unknown{0}, unknownDenied{0}, own{0}, errors{0},
      overflows{0}, openEvents{0}, execEvents{0}, answerNsSum{0}, answerNsMax{0};
  std::atomic<uint64_t> hist[kHistBuckets] = {};
};

class FanotifyGuard : public Napi::ObjectWrap<FanotifyGuard> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit FanotifyGuard(const Napi::CallbackInfo& info);
  ~FanotifyGuard() override;

 private:
  void Mark(const Napi::CallbackInfo& info);
  void Start(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value ReportTid(const Napi::CallbackInfo& info);

  std::unique_ptr<GuardCore> c_;
  bool started_ = false;
  bool closed_ = false;
};

}  // namespace tnative
