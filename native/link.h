// JS wrapper of a struct bpf_link.
#pragma once

#include <napi.h>

#include <memory>

struct bpf_link;

namespace tnative {

// Shared between the Link JS object and the BpfObject that created it, so that whichever
// goes first (destroy() or the object's close()) frees the link exactly once.
struct LinkState {
  bpf_link* link = nullptr;
  // A link libbpf cannot make (a raw tracepoint with a cookie): its fd, closed on destroy.
  int rawFd = -1;
  void destroy();
  ~LinkState() { destroy(); }
};

class Link : public Napi::ObjectWrap<Link> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // `owner` is the BpfObject JS object, kept alive while this link is reachable.
  static Napi::Object Create(Napi::Env env, std::shared_ptr<LinkState> state, Napi::Object owner);

  explicit Link(const Napi::CallbackInfo& info);

 private:
  Napi::Value Fd(const Napi::CallbackInfo& info);
  void Pin(const Napi::CallbackInfo& info);
  void Unpin(const Napi::CallbackInfo& info);
  void Destroy(const Napi::CallbackInfo& info);

  std::shared_ptr<LinkState> state_;
  Napi::ObjectReference owner_;
};

}  // namespace tnative
