// SPDX-License-Identifier: GPL-2.0-or-later
// Context membership and confinement: spectate(), release(), listContexts(),
// setLimits(), cgroupLayout() (where libvctx keeps the contexts' cgroups)
// and netCounters() (a context's entry in the pinned network counters).
#include "common.h"
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <cstdlib>

namespace vctxb {
namespace {

Napi::Value Spectate(const Napi::CallbackInfo &info) {
  // from Node (many threads) the seccomp filter must cover every thread
  vctx_error err{};
  if (vctx_spectate(1, &err) < 0) ThrowKernelError(info.Env(), err);
  return info.Env().Undefined();
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

// listContexts() -> [{xid, parentXid, name, cgroup, root, pid1, ip, loopback, ip6, loopback6, nat,
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
    char ip6[INET6_ADDRSTRLEN] = "", lb6[INET6_ADDRSTRLEN] = "";
    static const uint8_t zero[16] = {};
    if (memcmp(c.ipv6, zero, 16)) inet_ntop(AF_INET6, c.ipv6, ip6, sizeof(ip6));
    if (memcmp(c.loopback6, zero, 16)) inet_ntop(AF_INET6, c.loopback6, lb6, sizeof(lb6));
    o.Set("ip6", ip6[0] ? Napi::Value(Napi::String::New(env, ip6)) : env.Null());
    o.Set("loopback6", lb6[0] ? Napi::Value(Napi::String::New(env, lb6)) : env.Null());
    o.Set("nat", Napi::Boolean::New(env, c.nat != 0));
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

// cgroupLayout() -> {v2, contexts, hybrid}: libvctx's detection (once per
// process): the cgroup2 mount, the directory below it that holds the
// contexts (<v2>/vctx), and whether controllers sit on v1 hierarchies
Napi::Value CgroupLayout(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  vctx_error err{};
  const struct vctx_cgroup_layout *l = vctx_cgroup_layout(&err);
  if (!l) {
    ThrowKernelError(env, err);
    return env.Undefined();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("v2", l->v2);
  o.Set("contexts", std::string(l->v2) + "/" + vctx_cgroup_root());
  o.Set("hybrid", Napi::Boolean::New(env, l->hybrid != 0));
  return o;
}

// netCounters(xid) -> {rxBytes, rxPackets, txBytes, txPackets} | null (not counted)
Napi::Value NetCounters(const Napi::CallbackInfo &info) {
  const char *usage = "netCounters(xid: number) -> object | null";
  Napi::Env env = info.Env();
  uint32_t xid;
  if (!ArgUint(info, 0, usage, &xid)) return env.Undefined();
  vctx_error err{};
  struct vctx_net_counters n;
  int r = vctx_net_counters(xid, &n, &err);
  if (r < 0) {
    ThrowKernelError(env, err);
    return env.Undefined();
  }
  if (r == 0) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("rxBytes", Napi::Number::New(env, (double)n.rx_bytes));
  o.Set("rxPackets", Napi::Number::New(env, (double)n.rx_packets));
  o.Set("txBytes", Napi::Number::New(env, (double)n.tx_bytes));
  o.Set("txPackets", Napi::Number::New(env, (double)n.tx_packets));
  return o;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("netCounters", Napi::Function::New(env, NetCounters, "netCounters"));
  exports.Set("spectate", Napi::Function::New(env, Spectate, "spectate"));
  exports.Set("release", Napi::Function::New(env, Release, "release"));
  exports.Set("listContexts", Napi::Function::New(env, ListContexts, "listContexts"));
  exports.Set("cgroupLayout", Napi::Function::New(env, CgroupLayout, "cgroupLayout"));
  exports.Set("setLimits", Napi::Function::New(env, SetLimits, "setLimits"));
}

Registrar reg("kernel", Init);

}  // namespace
}  // namespace vctxb
