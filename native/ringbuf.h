// Consumer of a BPF ring buffer: a poller thread packs records into batches and hands
// each batch to JS through a bounded thread-safe function (back-pressure, no extra copy).
#pragma once

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

struct ring_buffer;

namespace tnative {

struct RingBatch {
  uint8_t* data = nullptr;
  size_t len = 0;
  size_t cap = 0;
  uint32_t count = 0;
};

class RingBuffer;

// Everything the poller thread touches. It outlives the JS wrapper while the thread runs:
// the thread-safe function's finalizer joins the thread and drops `keepAlive`.
struct RingConsumer : std::enable_shared_from_this<RingConsumer> {
  static void CallJs(Napi::Env env, Napi::Function onBatch, RingConsumer* self, RingBatch* batch);
  using Tsfn = Napi::TypedThreadSafeFunction<RingConsumer, RingBatch, &RingConsumer::CallJs>;

  ~RingConsumer();
  void Run();
  void Flush();
  static int OnSample(void* ctx, void* data, size_t size);
  static void OnFinalize(Napi::Env env, void* unused, RingConsumer* self);
  // Resolves a stop() promise, or rejects it if polling failed.
  void settle(Napi::Env env, Napi::Promise::Deferred& d);

  ring_buffer* rb = nullptr;
  size_t batchBytes = 256 * 1024;
  int pollTimeoutMs = 100;
  size_t maxPendingBatches = 64;

  Tsfn tsfn;
  std::thread thread;
  std::atomic<bool> stopFlag{false};
  int pollError = 0;         // written by the poller thread, read after it is joined
  RingBatch* cur = nullptr;  // touched only by the poller thread
  std::shared_ptr<RingConsumer> keepAlive;

  // JS thread only.
  RingBuffer* owner = nullptr;
  bool finished = false;
  std::vector<Napi::Promise::Deferred> waiters;
  uint64_t records = 0, batches = 0, bytes = 0;
};

class RingBuffer : public Napi::ObjectWrap<RingBuffer> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit RingBuffer(const Napi::CallbackInfo& info);
  ~RingBuffer() override;

 private:
  friend struct RingConsumer;
  void Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);

  std::shared_ptr<RingConsumer> c_;
  Napi::FunctionReference onBatch_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace tnative
