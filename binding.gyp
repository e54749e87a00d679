{
  "targets": [{
    "target_name": "vctx",
    "sources": [ "<!@(ls -1 binding/*.cc)" ],
    "include_dirs": [ "<!(node -p \"require('node-addon-api').include_dir\")", "kernel/include", "kernel/out" ],
    "defines": [ "NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS" ],
    "cflags": [ "-fvisibility=hidden", "-fstack-protector-strong", "-O2" ],
    "cflags_cc": [ "-std=c++17", "-fvisibility=hidden" ],
    "libraries": [ "<(module_root_dir)/kernel/out/libvctx.a", "-lbpf", "-lelf", "-lz", "-lseccomp" ]
  }]
}
