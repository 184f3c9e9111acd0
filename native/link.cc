#include "link.h"

#include <bpf/libbpf.h>

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>

#include "addon_data.h"
#include "errors.h"

namespace tnative {

void LinkState::destroy() {
  if (link) {
    bpf_link__destroy(link);
    link = nullptr;
  }
  if (rawFd >= 0) {
    close(rawFd);
    rawFd = -1;
  }
}

void Link::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "Link",
                                    {
                                        InstanceAccessor<&Link::Fd>("fd"),
                                        InstanceMethod<&Link::Pin>("pin"),
                                        InstanceMethod<&Link::Unpin>("unpin"),
                                        InstanceMethod<&Link::Destroy>("destroy"),
                                    });
  AddonData::Get(env)->linkCtor = Napi::Persistent(ctor);
  (void)exports;  // not constructible from JS: links come from BpfObject.attach()
}

Napi::Object Link::Create(Napi::Env env, std::shared_ptr<LinkState> state, Napi::Object owner) {
  Napi::Object obj = AddonData::Get(env)->linkCtor.New({});
  Link* self = Link::Unwrap(obj);
  self->state_ = std::move(state);
  self->owner_ = Napi::Persistent(owner);
  return obj;
}

Link::Link(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Link>(info) {}

Napi::Value Link::Fd(const Napi::CallbackInfo& info) {
  int fd = !state_ ? -1 : state_->link ? bpf_link__fd(state_->link) : state_->rawFd;
  return Napi::Number::New(info.Env(), fd);
}

void Link::Pin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  OpScope scope;
  if (!state_ || (!state_->link && state_->rawFd < 0)) ThrowErrno(env, "link pin " + path, EBADF);
  int err = state_->link ? bpf_link__pin(state_->link, path.c_str()) : bpf_obj_pin(state_->rawFd, path.c_str());
  if (err < 0 && !state_->link) err = -errno;
  if (err) ThrowErrno(env, "link pin " + path, err);
}

void Link::Unpin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpScope scope;
  if (!state_ || !state_->link) ThrowErrno(env, "link unpin", EBADF);
  int err = bpf_link__unpin(state_->link);
  if (err) ThrowErrno(env, "link unpin", err);
}

void Link::Destroy(const Napi::CallbackInfo&) {
  if (state_) state_->destroy();
  owner_.Reset();
}

}  // namespace tnative
