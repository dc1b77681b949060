#!/bin/sh
# `npm run test:asan`: the native library and its C++ tests under AddressSanitizer +
# UndefinedBehaviorSanitizer (+ LeakSanitizer at exit), CPU only, plain CMake in build-asan/,
# then a 60-step training loop over the kernels (tests/reliability/train_loop_lsan.cpp).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
cmake -S . -B build-asan -DLMT_SANITIZE=ON -DLMT_CUDA=OFF -DLMT_BUILD_TESTS=ON -DLMT_BUILD_ADDON=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-asan -j"${JOBS:-2}"
# allocator_may_return_null=1: test_core asks for 2^62 bytes on purpose (it must get LMT_ERR_OOM).
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:halt_on_error=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure
g++ -std=c++17 -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -Inative/include \
  tests/reliability/train_loop_lsan.cpp build-asan/liblmt.a -lpthread -ldl -o build-asan/train_loop_lsan
build-asan/train_loop_lsan
echo "test:asan: all C++ tests and the training loop passed under ASan+UBSan, LeakSanitizer found no leak"
