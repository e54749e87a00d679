// SPDX-License-Identifier: GPL-2.0-or-later
// Context membership and confinement: xidOfPid(), spectate(), gc(), release(), setLimits(), and
// waitEmpty() - a long wait run on its own thread, answered through a
// ThreadSafeFunction so the event loop and the libuv pool stay free.
#include "common.h"
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <thread>

namespace vctxb {
namespace {

Napi::Value XidOfPid(const Napi::CallbackInfo &info) {
  const char *usage = "xidOfPid(pid: number) -> number";
  uint32_t pid;
  if (!ArgUint(info, 0, usage, &pid)) return info.Env().Undefined();
  vctx_error err{};
  uint32_t xid = 0;
  if (vctx_xid_of_pid(static_cast<pid_t>(pid), &xid, &err) < 0) {
    ThrowKernelError(info.Env(), err);
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), xid);
}

Napi::Value Spectate(const Napi::CallbackInfo &info) {
  // from Node (many threads) the seccomp filter must cover every thread
  vctx_error err{};
  if (vctx_spectate(1, &err) < 0) ThrowKernelError(info.Env(), err);
  return info.Env().Undefined();
}

Napi::Value Gc(const Napi::CallbackInfo &info) {
  vctx_error err{};
  int n = vctx_gc(&err);
  if (n < 0) {
    ThrowKernelError(info.Env(), err);
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), n);
}

// release(xid): libvctx's one release path for an empty context (cgroups,
// IPv4 lock records, guard socket); throws ESRCH when it is gone, EBUSY
// when processes are left after 5 s
Napi::Value Release(const Napi::CallbackInfo &info) {
  const char *usage = "release(xid: number) -> void";
  uint32_t xid;
  if (!ArgUint(info, 0, usage, &xid)) return info.Env().Undefined();
  vctx_error err{};
  if (vctx_release(xid, &err) < 0) ThrowKernelError(info.Env(), err);
  return info.Env().Undefined();
}

// listContexts() -> [{xid, parentXid, name, cgroup, root, pid1, ip, loopback,
// capBounding, flags, created, nprocs}]: a walk of the cgroup tree and its
// xattrs only, no /proc scan - cheap enough for every name lookup
Napi::Value ListContexts(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  vctx_error err{};
  struct vctx_info *v = nullptr;
  size_t n = 0;
  if (vctx_list(&v, &n, &err) < 0) {
    ThrowKernelError(env, err);
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; i++) {
    const vctx_info &c = v[i];
    Napi::Object o = Napi::Object::New(env);
    char ip[INET_ADDRSTRLEN] = "", lb[INET_ADDRSTRLEN] = "", caps[24], flags[128];
    if (c.ipv4) inet_ntop(AF_INET, &c.ipv4, ip, sizeof(ip));
    if (c.loopback) inet_ntop(AF_INET, &c.loopback, lb, sizeof(lb));
    snprintf(caps, sizeof(caps), "0x%llx", static_cast<unsigned long long>(c.caps));
    vctx_flags_format(c.flags, flags, sizeof(flags));
    o.Set("xid", c.xid);
    o.Set("parentXid", c.parent_xid);
    o.Set("name", c.name);
    o.Set("cgroup", c.cgroup);
    o.Set("root", c.root);
    o.Set("pid1", static_cast<double>(c.pid1));
    o.Set("ip", ip[0] ? Napi::Value(Napi::String::New(env, ip)) : env.Null());
    o.Set("loopback", lb[0] ? Napi::Value(Napi::String::New(env, lb)) : env.Null());
    o.Set("capBounding", caps);
    o.Set("flags", flags);
    o.Set("created", static_cast<double>(c.created));
    o.Set("nprocs", c.nprocs);
    out.Set(static_cast<uint32_t>(i), o);
  }
  free(v);
  return out;
}

// setLimits(xid, {memoryMax?, pidsMax?, cpuWeight?, cpuQuotaUs?}): each key
// present is changed (0 = no limit / the default weight), the others stay
Napi::Value SetLimits(const Napi::CallbackInfo &info) {
  const char *usage = "setLimits(xid: number, {memoryMax?, pidsMax?, cpuWeight?, cpuQuotaUs?: number}) -> void";
  Napi::Env env = info.Env();
  uint32_t xid;
  if (!ArgUint(info, 0, usage, &xid)) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsObject()) {
    Napi::TypeError::New(env, std::string("usage: ") + usage).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = info[1].As<Napi::Object>();
  struct vctx_limits l{};
  struct Field { const char *key; unsigned bit; };
  const Field fields[] = {{"memoryMax", VCTX_LIM_MEMORY}, {"pidsMax", VCTX_LIM_PIDS},
                          {"cpuWeight", VCTX_LIM_CPU_WEIGHT}, {"cpuQuotaUs", VCTX_LIM_CPU_MAX}};
  for (const Field &f : fields) {
    if (!o.Has(f.key) || o.Get(f.key).IsUndefined()) continue;
    Napi::Value v = o.Get(f.key);
    if (!v.IsNumber() || v.As<Napi::Number>().DoubleValue() < 0) {
      Napi::TypeError::New(env, std::string("usage: ") + usage).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int64_t n = v.As<Napi::Number>().Int64Value();
    l.set |= f.bit;
    if (f.bit == VCTX_LIM_MEMORY) l.memory_max = n;
    else if (f.bit == VCTX_LIM_PIDS) l.pids_max = n;
    else if (f.bit == VCTX_LIM_CPU_WEIGHT) l.cpu_weight = static_cast<int>(n);
    else l.cpu_quota_us = n;
  }
  vctx_error err{};
  if (vctx_set_limits(xid, &l, &err) < 0) ThrowKernelError(env, err);
  return env.Undefined();
}

struct WaitResult {
  int rc;
  vctx_error err;
};

Napi::Value WaitEmpty(const Napi::CallbackInfo &info) {
  const char *usage = "waitEmpty(xid: number, timeoutMs: number) -> Promise<void>";
  uint32_t xid;
  int64_t timeout;
  if (!ArgUint(info, 0, usage, &xid) || !ArgInt(info, 1, usage, &timeout)) return info.Env().Undefined();
  Napi::Env env = info.Env();
  auto deferred = new Napi::Promise::Deferred(env);
  Napi::Promise promise = deferred->Promise();
  auto tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo &) {}),
                                            "vctx.waitEmpty", 0, 1);
  std::thread([tsfn, deferred, xid, timeout]() mutable {
    auto *res = new WaitResult{};
    res->rc = vctx_wait_empty(xid, static_cast<int>(timeout), &res->err);
    tsfn.BlockingCall(res, [deferred](Napi::Env env, Napi::Function, WaitResult *r) {
      if (r->rc < 0) {
        ThrowKernelError(env, r->err);
        Napi::Error e = env.GetAndClearPendingException();
        deferred->Reject(e.Value());
      } else {
        deferred->Resolve(env.Undefined());
      }
      delete r;
      delete deferred;
    });
    tsfn.Release();
  }).detach();
  return promise;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("xidOfPid", Napi::Function::New(env, XidOfPid, "xidOfPid"));
  exports.Set("spectate", Napi::Function::New(env, Spectate, "spectate"));
  exports.Set("gc", Napi::Function::New(env, Gc, "gc"));
  exports.Set("release", Napi::Function::New(env, Release, "release"));
  exports.Set("listContexts", Napi::Function::New(env, ListContexts, "listContexts"));
  exports.Set("waitEmpty", Napi::Function::New(env, WaitEmpty, "waitEmpty"));
  exports.Set("setLimits", Napi::Function::New(env, SetLimits, "setLimits"));
}

Registrar reg("kernel", Init);

}  // namespace
}  // namespace vctxb
