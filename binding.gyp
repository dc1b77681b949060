{
  "targets": [
    {
      "target_name": "lmtrain",
      "sources": ["<!@(node scripts/sources.cjs)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native/include", "native/core"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8", "LMT_GYP_BUILD=1"],
      "cflags_cc": ["-std=c++17", "-O3", "-fvisibility=hidden", "-march=x86-64-v2", "-mtune=generic", "-fno-math-errno", "-fno-trapping-math"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++1y"],
      "ldflags": ["-pthread"]
    }
  ]
}
