{
  "targets": [
    {
      "target_name": "tetragon_native",
      "sources": [
        "native/addon.cc",
        "native/attach.cc",
        "native/errors.cc",
        "native/fanotify.cc",
        "native/globals.cc",
        "native/link.cc",
        "native/maps.cc",
        "native/object.cc",
        "native/ringbuf.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    }
  ]
}
