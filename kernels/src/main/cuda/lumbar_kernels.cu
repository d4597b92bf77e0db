// The engine's own CUDA kernels, built into one fatbin (sm_90 SASS plus compute_90 PTX) that
// the CUDA backend loads with cuModuleLoadData. One translation unit keeps it one module;
// each topic lives in its own header.
#include "elementwise.cuh"
#include "norm.cuh"
#include "pooling.cuh"
#include "attention.cuh"
#include "layout.cuh"
#include "roi_sampler.cuh"
#include "bag_sampler.cuh"
