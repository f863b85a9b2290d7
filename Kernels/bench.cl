// Microkernels for `saegeo bench`: the device's fp32 peak and its memory bandwidth.
//
// peak_fma_<type>: every work-item runs 8 independent chains of fma on one float type for
// ITERATIONS rounds (a compile-time constant). The chains are independent so that their latency
// hides behind each other. The widths differ because devices vectorise differently (GPUs run
// scalar work-items in lock-step; CPU drivers pack vectors, or work-items, into SIMD lanes), so
// the report takes the fastest. An fma is 2 flops per lane. The sums are stored whole, so no
// lane is dead code.
//
// copy_float4: a streaming copy. read_<type>: each work-item sums 16 vectors, STRIDE apart (so
// neighbouring work-items read neighbouring vectors), and writes one float: mostly reads, which
// is how CPU devices reach their best (a copy's writes cost a read for ownership too). The report
// counts bytes read plus bytes written and takes the fastest.

#define PEAK_KERNEL(TYPE)                                                                   \
__kernel void peak_fma_##TYPE(__global TYPE* restrict out, const float a, const float b)    \
{                                                                                           \
    const int gid = get_global_id(0);                                                       \
    const TYPE va = (TYPE)(a), vb = (TYPE)(b);                                              \
    TYPE x0 = (TYPE)((float)gid), x1 = x0 + va, x2 = x1 + va, x3 = x2 + va;                 \
    TYPE x4 = x3 + va, x5 = x4 + va, x6 = x5 + va, x7 = x6 + va;                            \
    for (int i = 0; i < ITERATIONS; ++i) {                                                  \
        x0 = fma(x0, va, vb); x1 = fma(x1, va, vb); x2 = fma(x2, va, vb); x3 = fma(x3, va, vb); \
        x4 = fma(x4, va, vb); x5 = fma(x5, va, vb); x6 = fma(x6, va, vb); x7 = fma(x7, va, vb); \
    }                                                                                       \
    out[gid] = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));                           \
}

PEAK_KERNEL(float)
PEAK_KERNEL(float2)
PEAK_KERNEL(float4)
PEAK_KERNEL(float8)
PEAK_KERNEL(float16)

__kernel void copy_float4(__global const float4* restrict from, __global float4* restrict to)
{
    const int i = get_global_id(0);
    to[i] = from[i];
}

#define READ_KERNEL(TYPE, LANES)                                                              \
__kernel void read_##TYPE(__global const TYPE* restrict from, __global float* restrict to,    \
                          const int stride)                                                   \
{                                                                                             \
    const int gid = get_global_id(0);                                                         \
    TYPE s = from[gid];                                                                       \
    for (int i = 1; i < 16; ++i) s += from[gid + i * stride];                                 \
    float total = 0.0f;                                                                       \
    const float* lanes = (const float*)&s;                                                    \
    for (int i = 0; i < LANES; ++i) total += lanes[i];                                        \
    to[gid] = total;                                                                          \
}

READ_KERNEL(float4, 4)
READ_KERNEL(float16, 16)
