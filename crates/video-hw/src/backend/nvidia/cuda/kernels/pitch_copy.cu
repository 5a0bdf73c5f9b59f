// Pitched 2-D copy on the multiprocessors, 16 bytes per thread: the GPU-output path copies each
// mapped decoder surface into a pooled buffer with it (VIDEO_HW_NV_COPY=kernel), leaving the copy
// engines to the decoder's own post-processing.
// Compiled to PTX by scripts/build-ptx.py (NVRTC); the PTX is committed and loaded by the driver.
//
// The host guarantees: both pitches and both addresses are multiples of 16, and `width16`
// 16-byte units fit inside both pitches (the bytes past the row's width are pitch padding).

extern "C" __global__ void pitch_copy(
    const unsigned char* __restrict__ src, int src_pitch,
    unsigned char* __restrict__ dst, int dst_pitch,
    int width16, int rows)
{
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= width16 || y >= rows) return;
    const uint4* s = reinterpret_cast<const uint4*>(src + (size_t)y * src_pitch);
    uint4* d = reinterpret_cast<uint4*>(dst + (size_t)y * dst_pitch);
    d[x] = s[x];
}
