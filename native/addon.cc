// Module entry: a thin N-API binding of libbpf for tetragon-ts (contract: src/loader/native.ts).
#include <bpf/libbpf.h>
#include <napi.h>

#include <ctime>
#include <string>

#include "addon_data.h"
#include "errors.h"
#include "fanotify.h"
#include "link.h"
#include "maps.h"
#include "object.h"
#include "ringbuf.h"

static Napi::Value LibbpfVersion(const Napi::CallbackInfo& info) {
  std::string v = std::to_string(libbpf_major_version()) + "." + std::to_string(libbpf_minor_version());
  return Napi::String::New(info.Env(), v);
}

// The kernel stamps events with CLOCK_BOOTTIME, which Node does not expose.
static Napi::Value ClockBoottimeNs(const Napi::CallbackInfo& info) {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  uint64_t ns = static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
  return Napi::BigInt::New(info.Env(), ns);
}

static Napi::Object InitTetragonNative(Napi::Env env, Napi::Object exports) {
  tnative::InstallLibbpfLogCapture();
  env.SetInstanceData(new tnative::AddonData());
  exports.Set("libbpfVersion", Napi::Function::New<LibbpfVersion>(env, "libbpfVersion"));
  exports.Set("clockBoottimeNs", Napi::Function::New<ClockBoottimeNs>(env, "clockBoottimeNs"));
  tnative::BpfObject::Init(env, exports);
  tnative::Link::Init(env, exports);
  tnative::RingBuffer::Init(env, exports);
  tnative::FanotifyGuard::Init(env, exports);
  tnative::InitMapFunctions(env, exports);
  return exports;
}

NODE_API_MODULE(tetragon_native, InitTetragonNative)
