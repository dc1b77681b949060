// Shared declarations of the naive double-precision reference kernels (namespace ref).
#pragma once
#include <cstdint>
#include <vector>
