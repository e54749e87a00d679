// SPDX-License-Identifier: GPL-2.0-or-later
// Observation and signalling: snapshot() (libvctx's /proc + cgroup scan,
// one scanner kept for its caches), killPid(), killContext().
// Objects are built with raw N-API calls and keys made once per call:
// a snapshot of 5,000 processes is 90,000 properties.
#include "common.h"
#include <cerrno>
#include <cstdio>
#include <csignal>
#include <mutex>
#include <unordered_map>
extern "C" {
#include "vctx-scan.h"
}

namespace vctxb {
namespace {

// Per Node environment (the main thread and each worker load the addon
// on their own): the scanner with its caches, and the JS side of them.
struct State {
  struct vctx_scanner *scanner = nullptr;
  napi_ref assembler = nullptr;
  napi_ref columns = nullptr;  // the ArrayBuffer of ProcArray's columns
  size_t columns_len = 0;      // its length in doubles
  uint64_t delivered_gen = 0;  // every gen up to this one is in the assembler's cache
};
std::mutex states_lock;
std::unordered_map<napi_env, State *> states;

void FreeState(void *arg) {
  auto *st = static_cast<std::pair<napi_env, State *> *>(arg);
  {
    std::lock_guard<std::mutex> g(states_lock);
    states.erase(st->first);
  }
  vctx_scanner_free(st->second->scanner);
  // the reference dies with the environment
  delete st->second;
  delete st;
}

State *StateOf(napi_env env) {
  std::lock_guard<std::mutex> g(states_lock);
  auto it = states.find(env);
  if (it != states.end()) return it->second;
  State *st = new State();
  states[env] = st;
  napi_add_env_cleanup_hook(env, FreeState, new std::pair<napi_env, State *>(env, st));
  return st;
}

enum CtxKey {
  CK_XID, CK_NAME, CK_PARENT, CK_CGROUP, CK_ROOT, CK_PID1, CK_IP, CK_LOOPBACK, CK_IP6, CK_LOOPBACK6, CK_NAT, CK_CAPS,
  CK_FLAGS, CK_CREATED, CK_NPROCS, CK_NS, CK_CPU, CK_CPUSRC, CK_MEM, CK_MEMSRC,
  CK_MEMMAX, CK_PIDSMAX, CK_PIDSEV, CK_OOM, CK_NETRXB, CK_NETRXP, CK_NETTXB, CK_NETTXP, CK_IOR, CK_IOW,
  CK_IOSRC, CK__COUNT
};
const char *const ctx_keys[CK__COUNT] = {
  "xid", "name", "parentXid", "cgroup", "root", "pid1", "ip", "loopback", "ip6", "loopback6", "nat", "capBounding",
  "flags", "created", "nprocs", "namespaces", "cpuUsec", "cpuSource", "memoryBytes",
  "memorySource", "memoryMax", "pidsMax", "pidsEvents", "oomKills",
  "netRxBytes", "netRxPackets", "netTxBytes", "netTxPackets", "ioReadBytes", "ioWriteBytes", "ioSource",
};

// the context flags, by bit: kernel/tables/vctx-tables.json (vctx-tables.h)
#define FLAG_ROW(bit, name) { bit, name },
const struct { unsigned bit; const char *name; } flag_names[] = { VCTX_FLAG_ROWS(FLAG_ROW) };
#undef FLAG_ROW

inline napi_value Num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}
inline napi_value Int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}
inline napi_value Bool(napi_env env, bool v) {
  napi_value r;
  napi_get_boolean(env, v, &r);
  return r;
}
inline napi_value Str(napi_env env, const char *s, size_t n = NAPI_AUTO_LENGTH) {
  napi_value r;
  napi_create_string_utf8(env, s, n, &r);
  return r;
}

// The process objects are made by a small JS function from columns: an
// object literal in JITed code gets its final shape in one allocation,
// where 17 property sets from native code would reshape it 17 times.
// comm and cmdline change only when libvctx re-reads them (a new gen):
// the function keeps, by pid, the object it handed out last, and native
// code makes strings only for processes whose gen is newer than the last
// snapshot handed over.  A process none of whose figures changed (most of
// them: sleepers) gets the very object of the last snapshot again: the
// objects are never changed, and a refresh of 5,000 sleepers allocates
// almost nothing.  Should the two sides ever disagree about a gen, the
// function returns null and is called again with every string.
// The columns live in one buffer kept across snapshots.
const int NUMCOLS = 16;  // pid ppid xid innerPid threads startTime utime stime cutime cstime vsz rss uid nice gen state
const char *const assembler_src =
    "(function () {\n"
    "  const cache = new Map();\n"
    "  const letters = [];\n"
    // a Float64Array element reads as a heap number; stored so, every field of every process
    // object would be a boxed double (26 boxes of 16 bytes a process): whole numbers that fit
    // are stored as small integers instead (vsz, in bytes, stays a double where it must)
    "  const I = (x) => (x >= -1073741824 && x <= 1073741823 ? x | 0 : x);\n"
    "  let stamp = 0;\n"
    "  return function (num, str, n) {\n"
    "    const out = new Array(n);\n"
    "    stamp = (stamp + 1) % 1e9;\n"
    "    for (let i = 0, k = 0; i < n; i++, k += 16) {\n"
    "      const pid = I(num[k]), gen = I(num[k + 14]);\n"
    "      let e = cache.get(pid), comm = str[2 * i], cmdline = str[2 * i + 1];\n"
    "      if (comm === undefined) {\n"
    "        if (e === undefined || e.gen !== gen) return null;\n"
    "        const o = e.obj, inner = num[k + 3];\n"
    "        if (o.ppid === num[k + 1] && o.xid === num[k + 2] && o.innerPid === (inner > 0 ? inner : null) &&\n"
    "            o.threads === num[k + 4] && o.startTime === num[k + 5] && o.utime === num[k + 6] &&\n"
    "            o.stime === num[k + 7] && o.cutime === num[k + 8] && o.cstime === num[k + 9] &&\n"
    "            o.vsz === num[k + 10] && o.rss === num[k + 11] && o.uid === num[k + 12] &&\n"
    "            o.nice === num[k + 13] && o.state.charCodeAt(0) === num[k + 15]) {\n"
    "          e.seen = stamp;\n"
    "          out[i] = o;\n"
    "          continue;\n"
    "        }\n"
    "        comm = o.comm; cmdline = o.cmdline;\n"
    "      }\n"
    "      const c = I(num[k + 15]), inner = I(num[k + 3]);\n"
    "      const state = letters[c] ?? (letters[c] = String.fromCharCode(c));\n"
    "      const o = { pid, ppid: I(num[k + 1]), xid: I(num[k + 2]), innerPid: inner > 0 ? inner : null,\n"
    "        state, comm, threads: I(num[k + 4]), startTime: I(num[k + 5]),\n"
    "        utime: I(num[k + 6]), stime: I(num[k + 7]), cutime: I(num[k + 8]), cstime: I(num[k + 9]),\n"
    "        vsz: I(num[k + 10]), rss: I(num[k + 11]), uid: I(num[k + 12]), nice: I(num[k + 13]), cmdline };\n"
    "      if (e === undefined) cache.set(pid, { gen, obj: o, seen: stamp });\n"
    "      else { e.gen = gen; e.obj = o; e.seen = stamp; }\n"
    "      out[i] = o;\n"
    "    }\n"
    "    if (cache.size > n) for (const [pid, e] of cache) if (e.seen !== stamp) cache.delete(pid);\n"
    "    return out;\n"
    "  };\n"
    "})()";

napi_value Assembler(napi_env env, State *st) {
  napi_value fn = nullptr;
  if (st->assembler) {
    napi_get_reference_value(env, st->assembler, &fn);
    return fn;
  }
  napi_value src;
  napi_create_string_utf8(env, assembler_src, NAPI_AUTO_LENGTH, &src);
  if (napi_run_script(env, src, &fn) != napi_ok) return nullptr;
  napi_create_reference(env, fn, 1, &st->assembler);
  return fn;
}

// the column buffer, kept across snapshots (grown when the host has more processes)
double *Columns(napi_env env, State *st, size_t n, napi_value *typed) {
  size_t want = n * NUMCOLS;
  napi_value ab = nullptr;
  void *data = nullptr;
  if (st->columns && st->columns_len >= want) {
    napi_get_reference_value(env, st->columns, &ab);
    napi_get_arraybuffer_info(env, ab, &data, nullptr);
  } else {
    if (st->columns) napi_delete_reference(env, st->columns);
    st->columns = nullptr;
    size_t len = want + want / 4 + 64 * NUMCOLS;
    if (napi_create_arraybuffer(env, len * sizeof(double), &data, &ab) != napi_ok) return nullptr;
    napi_create_reference(env, ab, 1, &st->columns);
    st->columns_len = len;
  }
  if (napi_create_typedarray(env, napi_float64_array, want, ab, 0, typed) != napi_ok) return nullptr;
  return static_cast<double *>(data);
}

napi_value ProcArray(napi_env env, State *st, const vctx_snapshot *snap, bool all_strings) {
  size_t n = snap->nprocs;
  napi_value num, strs, fn, result, global;
  uint64_t max_gen = st->delivered_gen;
  double *d = Columns(env, st, n, &num);
  if (!d) return nullptr;
  napi_create_array_with_length(env, n * 2, &strs);
  for (size_t i = 0; i < n; i++) {
    const vctx_proc &p = snap->procs[i];
    double *r = d + i * NUMCOLS;
    r[0] = p.pid; r[1] = p.ppid; r[2] = p.xid; r[3] = p.inner_pid;
    r[4] = p.threads; r[5] = (double)p.starttime; r[6] = (double)p.utime; r[7] = (double)p.stime;
    r[8] = (double)p.cutime; r[9] = (double)p.cstime; r[10] = (double)p.vsz; r[11] = (double)p.rss;
    r[12] = p.uid; r[13] = p.nice; r[14] = (double)p.gen;
    r[15] = (unsigned char)p.state < 128 && p.state > ' ' ? (unsigned char)p.state : '?';
    if (p.gen > max_gen) max_gen = p.gen;
    if (all_strings || p.gen > st->delivered_gen) {
      napi_handle_scope scope;
      napi_open_handle_scope(env, &scope);
      napi_set_element(env, strs, (uint32_t)(2 * i), Str(env, p.comm));
      napi_set_element(env, strs, (uint32_t)(2 * i + 1), Str(env, p.cmdline));
      napi_close_handle_scope(env, scope);
    }
  }
  fn = Assembler(env, st);
  if (!fn) return nullptr;
  napi_get_global(env, &global);
  napi_value nv = Num(env, (double)n);
  napi_value argv[3] = { num, strs, nv };
  if (napi_call_function(env, global, fn, 3, argv, &result) != napi_ok) return nullptr;
  napi_valuetype t;
  napi_typeof(env, result, &t);
  if (t == napi_null) {
    if (all_strings) return nullptr;
    return ProcArray(env, st, snap, true);
  }
  st->delivered_gen = max_gen;
  return result;
}

napi_value CtxObject(napi_env env, const napi_value *keys, const vctx_ctx &c) {
  napi_value o, null, flags, ns;
  napi_create_object(env, &o);
  napi_get_null(env, &null);
  napi_create_array(env, &flags);
  uint32_t nf = 0;
  for (unsigned i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
    if (c.flags & flag_names[i].bit) napi_set_element(env, flags, nf++, Str(env, flag_names[i].name));
  napi_create_object(env, &ns);
  for (int k = 0; k < VCTX_NS__COUNT; k++)
    if (c.ns[k]) napi_set_named_property(env, ns, vctx_ns_name((vctx_ns_kind)k), Num(env, (double)c.ns[k]));
  char caps[24];
  snprintf(caps, sizeof(caps), "0x%llx", (unsigned long long)c.caps);
  napi_value v[CK__COUNT] = {
    Int(env, c.xid), Str(env, c.name), Int(env, c.parent_xid), Str(env, c.cgroup),
    Str(env, c.root), Int(env, c.pid1), c.ip[0] ? Str(env, c.ip) : null,
    c.loopback[0] ? Str(env, c.loopback) : null,
    c.ip6[0] ? Str(env, c.ip6) : null, c.loopback6[0] ? Str(env, c.loopback6) : null, Bool(env, c.nat),
    Str(env, caps), flags,
    Num(env, (double)c.created), Int(env, c.nprocs), ns, Num(env, (double)c.cpu_usec),
    Str(env, vctx_source_name(c.cpu_source)), Num(env, (double)c.mem_bytes),
    Str(env, vctx_source_name(c.mem_source)),
    c.mem_max >= 0 ? Num(env, (double)c.mem_max) : null,
    c.pids_max >= 0 ? Num(env, (double)c.pids_max) : null,
    Num(env, (double)c.pids_events), Num(env, (double)c.oom_kills),
    c.net_counted ? Num(env, (double)c.net_rx_bytes) : null,
    c.net_counted ? Num(env, (double)c.net_rx_packets) : null,
    c.net_counted ? Num(env, (double)c.net_tx_bytes) : null,
    c.net_counted ? Num(env, (double)c.net_tx_packets) : null,
    c.io_known ? Num(env, (double)c.io_read_bytes) : null,
    c.io_known ? Num(env, (double)c.io_write_bytes) : null,
    Str(env, vctx_source_name(c.io_source)),
  };
  for (int i = 0; i < CK__COUNT; i++) napi_set_property(env, o, keys[i], v[i]);
  return o;
}

// snapshot() -> Snapshot (src/kernel-bridge/types.ts)
Napi::Value Snapshot(const Napi::CallbackInfo &info) {
  napi_env env = info.Env();
  vctx_error err = {};
  const vctx_snapshot *snap = nullptr;

  State *st = StateOf(env);
  if (!st->scanner) {
    st->scanner = vctx_scanner_new(&err);
    if (!st->scanner) {
      ThrowKernelError(info.Env(), err);
      return info.Env().Undefined();
    }
  }
  // snapshot({ lite: true }): stat only (no inner PID, uid, command line)
  bool lite = false;
  if (info.Length() > 0 && info[0].IsObject()) {
    Napi::Value l = info[0].As<Napi::Object>().Get("lite");
    lite = l.IsBoolean() && l.As<Napi::Boolean>().Value();
  }
  vctx_scanner_set_lite(st->scanner, lite);
  if (vctx_scan(st->scanner, &snap, &err) < 0) {
    ThrowKernelError(info.Env(), err);
    return info.Env().Undefined();
  }

  napi_value ckeys[CK__COUNT];
  for (int i = 0; i < CK__COUNT; i++) ckeys[i] = Str(env, ctx_keys[i]);

  napi_value procs = ProcArray(env, st, snap, false), ctxs;
  if (!procs) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) Napi::Error::New(info.Env(), "snapshot: building the process list failed").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  napi_create_array_with_length(env, snap->nctxs, &ctxs);
  for (size_t i = 0; i < snap->nctxs; i++)
    napi_set_element(env, ctxs, (uint32_t)i, CtxObject(env, ckeys, snap->ctxs[i]));

  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("takenAt", snap->taken_at_ms);
  out.Set("clockTicks", (double)snap->clock_ticks);
  out.Set("bootTime", (double)snap->boot_time);
  out.Set("uptime", snap->uptime);
  out.Set("pageSize", (double)snap->page_size);
  out.Set("processes", Napi::Value(env, procs));
  out.Set("contexts", Napi::Value(env, ctxs));
  return out;
}

bool ArgSignal(const Napi::CallbackInfo &info, size_t i, const char *usage, int *sig) {
  int64_t v;
  if (!ArgInt(info, i, usage, &v)) return false;
  if (v < 0 || v > SIGRTMAX) {
    Napi::RangeError::New(info.Env(), std::string("usage: ") + usage + " (signal 0.." +
                          std::to_string(SIGRTMAX) + ")").ThrowAsJavaScriptException();
    return false;
  }
  *sig = (int)v;
  return true;
}

// killPid(pid, startTime, sig): signal exactly the process seen (0 = any start time)
Napi::Value KillPid(const Napi::CallbackInfo &info) {
  const char *usage = "killPid(pid, startTime, signal)";
  uint32_t pid;
  int64_t start;
  int sig;
  if (!CheckArgs(info, 3, usage) || !ArgUint(info, 0, usage, &pid) ||
      !ArgInt(info, 1, usage, &start) || !ArgSignal(info, 2, usage, &sig))
    return info.Env().Undefined();
  if (pid == 0 || start < 0) {
    Napi::RangeError::New(info.Env(), std::string("usage: ") + usage).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  vctx_error err = {};
  if (vctx_kill_pid((pid_t)pid, (uint64_t)start, sig, &err) < 0) ThrowKernelError(info.Env(), err);
  return info.Env().Undefined();
}

// killContext(xid, sig) -> number of processes signalled
Napi::Value KillContext(const Napi::CallbackInfo &info) {
  const char *usage = "killContext(xid, signal)";
  uint32_t xid;
  int sig;
  if (!CheckArgs(info, 2, usage) || !ArgUint(info, 0, usage, &xid) || !ArgSignal(info, 1, usage, &sig))
    return info.Env().Undefined();
  vctx_error err = {};
  int n = vctx_kill_context(xid, sig, &err);
  if (n < 0) {
    ThrowKernelError(info.Env(), err);
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), n);
}

// escape(text[, 'hex']) -> the terminal-safe form libvctx gives comm and
// cmdline (vctx_escape), or every escape as \xNN (vctx_escape_hex)
Napi::Value Escape(const Napi::CallbackInfo &info) {
  const char *usage = "escape(text[, style])";
  if (!CheckArgs(info, 1, usage)) return info.Env().Undefined();
  bool hex = info.Length() > 1 && info[1].IsString() && info[1].As<Napi::String>().Utf8Value() == "hex";
  std::string in;
  if (info[0].IsBuffer()) {
    auto b = info[0].As<Napi::Buffer<char>>();
    in.assign(b.Data(), b.Length());
  } else if (!ArgString(info, 0, usage, &in)) {
    return info.Env().Undefined();
  }
  std::string out(in.size() * 4 + 1, '\0');
  size_t n = (hex ? vctx_escape_hex : vctx_escape)(in.data(), in.size(), &out[0], out.size());
  return Napi::String::New(info.Env(), out.data(), n);
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("snapshot", Napi::Function::New(env, Snapshot, "snapshot"));
  exports.Set("killPid", Napi::Function::New(env, KillPid, "killPid"));
  exports.Set("killContext", Napi::Function::New(env, KillContext, "killContext"));
  exports.Set("escape", Napi::Function::New(env, Escape, "escape"));
}

Registrar reg("observe", Init);

}  // namespace
}  // namespace vctxb
