#include "ringbuf.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "errors.h"

namespace tnative {
namespace {

constexpr size_t kHeader = 8;  // [u32 length][u32 reserved]

size_t align8(size_t n) { return (n + 7) & ~size_t(7); }

void freeBatch(RingBatch* b) {
  if (!b) return;
  free(b->data);
  delete b;
}

size_t optSize(Napi::Object o, const char* key, size_t dflt) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) return dflt;
  int64_t n = v.As<Napi::Number>().Int64Value();
  return n > 0 ? static_cast<size_t>(n) : dflt;
}

}  // namespace

RingConsumer::~RingConsumer() {
  stopFlag = true;
  if (thread.joinable()) thread.join();
  freeBatch(cur);
  if (rb) ring_buffer__free(rb);
}

int RingConsumer::OnSample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<RingConsumer*>(ctx);
  size_t need = kHeader + align8(size);
  if (self->cur && self->cur->len + need > self->cur->cap) self->Flush();
  if (!self->cur) {
    auto* b = new (std::nothrow) RingBatch();
    size_t cap = need > self->batchBytes ? need : self->batchBytes;
    if (b) b->data = static_cast<uint8_t*>(malloc(cap));
    if (!b || !b->data) {
      delete b;
      return 0;  // out of memory: the record is dropped
    }
    b->cap = cap;
    self->cur = b;
  }
  RingBatch* b = self->cur;
  uint8_t* p = b->data + b->len;
  uint32_t header[2] = {static_cast<uint32_t>(size), 0};
  memcpy(p, header, kHeader);
  memcpy(p + kHeader, data, size);
  memset(p + kHeader + size, 0, need - kHeader - size);
  b->len += need;
  b->count++;
  return 0;
}

void RingConsumer::Flush() {
  if (!cur || cur->count == 0) return;
  RingBatch* b = cur;
  cur = nullptr;
  // Blocks while maxPendingBatches are queued: the kernel ring then fills and counts drops.
  if (tsfn.BlockingCall(b) != napi_ok) freeBatch(b);
}

void RingConsumer::Run() {
  while (!stopFlag.load()) {
    int n = ring_buffer__poll(rb, pollTimeoutMs);
    if (n < 0 && n != -EINTR) {
      pollError = -n;
      break;
    }
    // Producers may submit without a wakeup (BPF_RB_NO_WAKEUP) to batch records: a poll
    // that timed out still drains what is there.
    if (n == 0) ring_buffer__consume(rb);
    Flush();
  }
  ring_buffer__consume(rb);  // records submitted before stop() was called
  Flush();
  tsfn.Release();
}

void RingConsumer::CallJs(Napi::Env env, Napi::Function onBatch, RingConsumer* self, RingBatch* batch) {
  if (!env || !onBatch) {  // tearing down
    freeBatch(batch);
    return;
  }
  uint32_t count = batch->count;
  size_t len = batch->len;
  try {
    auto buf = Napi::Buffer<uint8_t>::New(env, batch->data, len, [](Napi::Env, uint8_t* p) { free(p); });
    batch->data = nullptr;  // owned by the Buffer now
    freeBatch(batch);
    batch = nullptr;
    self->records += count;
    self->batches += 1;
    self->bytes += len;
    onBatch.Call({buf, Napi::Number::New(env, count)});
  } catch (const Napi::Error& e) {
    freeBatch(batch);
    // Without this the exception is swallowed (N-API's legacy policy for thread-safe calls).
    napi_fatal_exception(env, e.Value());
  }
}

void RingConsumer::settle(Napi::Env env, Napi::Promise::Deferred& d) {
  if (pollError) {
    d.Reject(MakeErrnoError(env, "ring_buffer__poll", pollError).Value());
  } else {
    d.Resolve(env.Undefined());
  }
}

void RingConsumer::OnFinalize(Napi::Env env, void*, RingConsumer* self) {
  std::shared_ptr<RingConsumer> hold = std::move(self->keepAlive);
  self->stopFlag = true;
  if (self->thread.joinable()) self->thread.join();
  freeBatch(self->cur);
  self->cur = nullptr;
  if (self->rb) {
    ring_buffer__free(self->rb);
    self->rb = nullptr;
  }
  self->finished = true;
  try {
    Napi::HandleScope scope(env);
    for (auto& d : self->waiters) self->settle(env, d);
    if (self->owner) self->owner->Unref();
  } catch (...) {
    // the environment is going away; nothing left to notify
  }
  self->waiters.clear();
}

void RingBuffer::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "RingBuffer",
                                    {
                                        InstanceMethod<&RingBuffer::Start>("start"),
                                        InstanceMethod<&RingBuffer::Stop>("stop"),
                                        InstanceMethod<&RingBuffer::Stats>("stats"),
                                    });
  exports.Set("RingBuffer", ctor);
}

RingBuffer::RingBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingBuffer>(info) {
  Napi::Env env = info.Env();
  OpScope scope;
  if (!info[0].IsNumber()) ThrowErrno(env, "RingBuffer (mapFd must be a number)", EINVAL);
  if (!info[1].IsFunction()) ThrowErrno(env, "RingBuffer (onBatch must be a function)", EINVAL);
  int fd = info[0].As<Napi::Number>().Int32Value();

  c_ = std::make_shared<RingConsumer>();
  if (info[2].IsObject()) {
    Napi::Object o = info[2].As<Napi::Object>();
    c_->batchBytes = optSize(o, "batchBytes", c_->batchBytes);
    c_->pollTimeoutMs = static_cast<int>(optSize(o, "pollTimeoutMs", c_->pollTimeoutMs));
    c_->maxPendingBatches = optSize(o, "maxPendingBatches", c_->maxPendingBatches);
  }
  c_->rb = ring_buffer__new(fd, &RingConsumer::OnSample, c_.get(), nullptr);
  if (!c_->rb) {
    int err = errno;
    ThrowErrno(env, "ring_buffer__new fd " + std::to_string(fd), err);
  }
  onBatch_ = Napi::Persistent(info[1].As<Napi::Function>());
}

RingBuffer::~RingBuffer() {
  // A running consumer finishes on its own once its thread sees the flag.
  if (c_) {
    c_->owner = nullptr;
    c_->stopFlag = true;
  }
}

void RingBuffer::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (started_ || stopped_) ThrowErrno(env, "RingBuffer.start (already started or stopped)", EALREADY);
  c_->tsfn = RingConsumer::Tsfn::New(env, onBatch_.Value(), "tetragon-ringbuf", c_->maxPendingBatches, 1, c_.get(),
                                     &RingConsumer::OnFinalize, static_cast<void*>(nullptr));
  onBatch_.Reset();
  c_->keepAlive = c_;
  c_->owner = this;
  Ref();  // not collectable while running
  started_ = true;
  try {
    c_->thread = std::thread([c = c_.get()] { c->Run(); });
  } catch (const std::system_error& e) {
    c_->tsfn.Release();  // lets the finalizer clean up
    ThrowErrno(env, "RingBuffer.start (thread)", e.code().value());
  }
}

Napi::Value RingBuffer::Stop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto d = Napi::Promise::Deferred::New(env);
  stopped_ = true;
  if (!started_ || c_->finished) {
    if (!started_ && c_->rb) {
      ring_buffer__free(c_->rb);
      c_->rb = nullptr;
    }
    c_->settle(env, d);
  } else {
    c_->stopFlag = true;
    c_->waiters.push_back(d);
  }
  return d.Promise();
}

Napi::Value RingBuffer::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("records", Napi::Number::New(env, static_cast<double>(c_->records)));
  o.Set("batches", Napi::Number::New(env, static_cast<double>(c_->batches)));
  o.Set("bytes", Napi::Number::New(env, static_cast<double>(c_->bytes)));
  return o;
}

}  // namespace tnative
