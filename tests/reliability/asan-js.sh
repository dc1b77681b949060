#!/bin/sh
# Runs vitest files (default: the ops, boundary, fuzz and reliability tests) against an addon
# built with -DLMT_SANITIZE=ON, in a node with libasan preloaded.
#   npm run test:asan:js [-- <vitest file filters>]
# The addon is built into build-asan-addon/ (cmake-js, CUDA off). node-gyp-build loads
# <package root>/build/Release, and the package root is found from src/native/binding.ts, so
# the sources and tests are copied into a shadow root whose build/Release holds the ASan addon.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mkdir -p build-asan-addon
npx cmake-js build -O build-asan-addon --config RelWithDebInfo --CDLMT_SANITIZE=ON --CDLMT_CUDA=OFF >build-asan-addon/build.log 2>&1 ||
  { tail -30 build-asan-addon/build.log; exit 1; }
shadow="$root/build-asan-addon/shadow"
rm -rf "$shadow"
mkdir -p "$shadow/build/Release"
cp -r src tests package.json tsconfig.json vitest.config.ts "$shadow/"
ln -s "$root/node_modules" "$shadow/node_modules"
cp build-asan-addon/RelWithDebInfo/lmtrain.node "$shadow/build/Release/lmtrain.node"
cd "$shadow"
[ $# -gt 0 ] || set -- tests/ops tests/native tests/tensor tests/autograd tests/fuzz tests/reliability tests/io
# detect_leaks=0: V8 and node keep allocations alive at exit that LeakSanitizer would report.
# allocator_may_return_null=1: the OOM tests ask for 2^40-element tensors on purpose.
LD_PRELOAD=$(g++ -print-file-name=libasan.so) \
ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:halt_on_error=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  node node_modules/vitest/vitest.mjs run "$@"
