#include "maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "errors.h"

namespace tnative {
namespace {

constexpr int kENOTSUPP = 524;  // kernel-internal "not supported", leaks out of some bpf() paths

int argFd(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }

Napi::Buffer<uint8_t> argBuf(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (!info[i].IsBuffer()) ThrowErrno(info.Env(), std::string(op) + " (argument must be a Buffer)", EINVAL);
  return info[i].As<Napi::Buffer<uint8_t>>();
}

void requireSize(Napi::Env env, const char* op, size_t got, size_t want) {
  if (want != 0 && got < want) ThrowErrno(env, std::string(op) + " (buffer too small)", EINVAL);
}

// A Buffer over malloc'ed memory, freed by the GC (no copy).
Napi::Buffer<uint8_t> adopt(Napi::Env env, uint8_t* data, size_t len) {
  return Napi::Buffer<uint8_t>::New(env, data, len, [](Napi::Env, uint8_t* p) { free(p); });
}

uint8_t* allocOrThrow(Napi::Env env, size_t n, const char* op) {
  auto* p = static_cast<uint8_t*>(calloc(n ? n : 1, 1));
  if (!p) ThrowErrno(env, op, ENOMEM);
  return p;
}

Napi::Value MapLookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpScope scope;
  int fd = argFd(info, 0);
  auto key = argBuf(info, 1, "mapLookup");
  size_t valueSize = info[2].As<Napi::Number>().Uint32Value();
  uint8_t* value = allocOrThrow(env, valueSize, "mapLookup");
  if (bpf_map_lookup_elem(fd, key.Data(), value) != 0) {
    int err = errno;
    free(value);
    if (err == ENOENT) return env.Null();
    ThrowErrno(env, "bpf_map_lookup_elem fd " + std::to_string(fd), err);
  }
  return adopt(env, value, valueSize);
}

void MapUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpScope scope;
  int fd = argFd(info, 0);
  auto key = argBuf(info, 1, "mapUpdate");
  auto value = argBuf(info, 2, "mapUpdate");
  uint64_t flags = info[3].IsNumber() ? info[3].As<Napi::Number>().Int64Value() : uint64_t(BPF_ANY);
  int err = bpf_map_update_elem(fd, key.Data(), value.Data(), flags);
  if (err) ThrowErrno(env, "bpf_map_update_elem fd " + std::to_string(fd), err);
}

Napi::Value MapDelete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpScope scope;
  int fd = argFd(info, 0);
  auto key = argBuf(info, 1, "mapDelete");
  if (bpf_map_delete_elem(fd, key.Data()) != 0) {
    int err = errno;
    if (err == ENOENT) return Napi::Boolean::New(env, false);
    ThrowErrno(env, "bpf_map_delete_elem fd " + std::to_string(fd), err);
  }
  return Napi::Boolean::New(env, true);
}

Napi::Value MapNextKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpScope scope;
  int fd = argFd(info, 0);
  size_t keySize = info[2].As<Napi::Number>().Uint32Value();
  const void* key = nullptr;
  if (!info[1].IsNull() && !info[1].IsUndefined()) {
    auto k = argBuf(info, 1, "mapNextKey");
    requireSize(env, "mapNextKey", k.Length(), keySize);
    key = k.Data();
  }
  uint8_t* next = allocOrThrow(env, keySize, "mapNextKey");
  if (bpf_map_get_next_key(fd, key, next) != 0) {
    int err = errno;
    free(next);
    if (err == ENOENT) return env.Null();
    ThrowErrno(env, "bpf_map_get_next_key fd " + std::to_string(fd), err);
  }
  return adopt(env, next, keySize);
}

// Fallback for maps/kernels without BPF_MAP_LOOKUP_BATCH. Returns the entry count.
size_t lookupByIteration(Napi::Env env, int fd, size_t keySize, size_t valueSize, size_t maxCount, uint8_t* keys,
                         uint8_t* values) {
  std::vector<uint8_t> cur(keySize), next(keySize);
  const void* prev = nullptr;
  size_t n = 0;
  while (n < maxCount) {
    if (int err = bpf_map_get_next_key(fd, prev, next.data())) {
      if (err == -ENOENT) break;
      ThrowErrno(env, "bpf_map_get_next_key fd " + std::to_string(fd), err);
    }
    cur.swap(next);
    prev = cur.data();
    if (int err = bpf_map_lookup_elem(fd, cur.data(), values + n * valueSize)) {
      if (err == -ENOENT) continue;  // deleted meanwhile
      ThrowErrno(env, "bpf_map_lookup_elem fd " + std::to_string(fd), err);
    }
    memcpy(keys + n * keySize, cur.data(), keySize);
    n++;
  }
  return n;
}

Napi::Value MapLookupBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpScope scope;
  int fd = argFd(info, 0);
  size_t keySize = info[1].As<Napi::Number>().Uint32Value();
  size_t valueSize = info[2].As<Napi::Number>().Uint32Value();
  size_t maxCount = info[3].As<Napi::Number>().Uint32Value();
  const std::string op = "bpf_map_lookup_batch fd " + std::to_string(fd);

  uint8_t* keys = allocOrThrow(env, keySize * maxCount, op.c_str());
  uint8_t* values = static_cast<uint8_t*>(calloc(valueSize * maxCount + 1, 1));
  if (!values) {
    free(keys);
    ThrowErrno(env, op, ENOMEM);
  }

  size_t n = 0;
  try {
    // The batch cursor is opaque (a u32 bucket for hashes, a key for arrays): size it generously.
    std::vector<uint8_t> inBatch(std::max<size_t>(keySize, 8)), outBatch(inBatch.size());
    bool first = true, fallback = false;
    bpf_map_batch_opts opts{};
    opts.sz = sizeof(opts);
    while (n < maxCount) {
      __u32 count = static_cast<__u32>(maxCount - n);
      int err = bpf_map_lookup_batch(fd, first ? nullptr : inBatch.data(), outBatch.data(), keys + n * keySize,
                                     values + n * valueSize, &count, &opts);
      int e = err ? errno : 0;
      n += count;
      if (e == ENOENT) break;  // no more entries
      if (e == EINVAL || e == EOPNOTSUPP || e == kENOTSUPP) {
        fallback = true;
        break;
      }
      if (e == ENOSPC && count == 0) break;  // next bucket alone exceeds the room left
      if (e) ThrowErrno(env, op, e);
      if (count == 0) break;
      first = false;
      inBatch.swap(outBatch);
    }
    if (fallback) n = lookupByIteration(env, fd, keySize, valueSize, maxCount, keys, values);
  } catch (...) {
    free(keys);
    free(values);
    throw;
  }

  Napi::Object out = Napi::Object::New(env);
  out.Set("keys", adopt(env, keys, n * keySize));
  out.Set("values", adopt(env, values, n * valueSize));
  out.Set("count", Napi::Number::New(env, static_cast<double>(n)));
  return out;
}

void ObjPin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpScope scope;
  int fd = argFd(info, 0);
  std::string path = info[1].As<Napi::String>();
  int err = bpf_obj_pin(fd, path.c_str());
  if (err) ThrowErrno(env, "bpf_obj_pin " + path, err);
}

Napi::Value ObjGet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpScope scope;
  std::string path = info[0].As<Napi::String>();
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) ThrowErrno(env, "bpf_obj_get " + path, fd);
  return Napi::Number::New(env, fd);
}

void CloseFd(const Napi::CallbackInfo& info) {
  int fd = argFd(info, 0);
  if (close(fd) != 0) {
    int err = errno;
    if (err != EINTR) ThrowErrno(info.Env(), "close fd " + std::to_string(fd), err);
  }
}

Napi::Value NumPossibleCpus(const Napi::CallbackInfo& info) {
  OpScope scope;
  int n = libbpf_num_possible_cpus();
  if (n < 0) ThrowErrno(info.Env(), "libbpf_num_possible_cpus", n);
  return Napi::Number::New(info.Env(), n);
}

Napi::Value ProbeProgType(const Napi::CallbackInfo& info) {
  OpScope scope;
  int type = info[0].As<Napi::Number>().Int32Value();
  int r = libbpf_probe_bpf_prog_type(static_cast<bpf_prog_type>(type), nullptr);
  if (r < 0) ThrowErrno(info.Env(), "libbpf_probe_bpf_prog_type " + std::to_string(type), r);
  return Napi::Boolean::New(info.Env(), r > 0);
}

Napi::Value ProbeHelper(const Napi::CallbackInfo& info) {
  OpScope scope;
  int type = info[0].As<Napi::Number>().Int32Value();
  int helper = info[1].As<Napi::Number>().Int32Value();
  int r = libbpf_probe_bpf_helper(static_cast<bpf_prog_type>(type), static_cast<bpf_func_id>(helper), nullptr);
  if (r < 0) {
    ThrowErrno(info.Env(), "libbpf_probe_bpf_helper " + std::to_string(type) + "/" + std::to_string(helper), r);
  }
  return Napi::Boolean::New(info.Env(), r > 0);
}

}  // namespace

void InitMapFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("mapLookup", Napi::Function::New<MapLookup>(env, "mapLookup"));
  exports.Set("mapUpdate", Napi::Function::New<MapUpdate>(env, "mapUpdate"));
  exports.Set("mapDelete", Napi::Function::New<MapDelete>(env, "mapDelete"));
  exports.Set("mapNextKey", Napi::Function::New<MapNextKey>(env, "mapNextKey"));
  exports.Set("mapLookupBatch", Napi::Function::New<MapLookupBatch>(env, "mapLookupBatch"));
  exports.Set("objPin", Napi::Function::New<ObjPin>(env, "objPin"));
  exports.Set("objGet", Napi::Function::New<ObjGet>(env, "objGet"));
  exports.Set("closeFd", Napi::Function::New<CloseFd>(env, "closeFd"));
  exports.Set("numPossibleCpus", Napi::Function::New<NumPossibleCpus>(env, "numPossibleCpus"));
  exports.Set("probeProgType", Napi::Function::New<ProbeProgType>(env, "probeProgType"));
  exports.Set("probeHelper", Napi::Function::New<ProbeHelper>(env, "probeHelper"));
}

}  // namespace tnative
