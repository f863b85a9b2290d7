// Microkernels for `saegeo bench` on the CPU: the fp32 peak of one core (chains of independent
// fmas, enough of them to cover the fma latency on two ports) and a streaming copy.
// Each ISA has its own function, chosen at run time, so the binary runs on any x86-64.
#include "microkernels.h"
#include <string.h>

#if defined(__x86_64__)

// 12 independent accumulators: latency 4 x 2 ports = 8 in flight, with room to spare. The loops
// are written in assembly so that they run at the same speed however the package is compiled
// (a debug build, or a dependent's build that passes no optimisation flags to this target):
// x_i = x_i * a + b for 12 registers, `iterations` times, then the registers summed.
#define REGS12(p) p "0", p "1", p "2", p "3", p "4", p "5", p "6", p "7", p "8", p "9", p "10", p "11", p "12", p "13"

__attribute__((target("avx512f")))
static double peak_avx512(long iterations, float *sink) {
    if (iterations < 1) { *sink = 0; return 0; }
    const float a = 0.999999f, b = 1e-7f, one = 1.0f;
    float lanes[16];
    long n = iterations;
    __asm__ volatile(
        "vbroadcastss %[a], %%zmm12\n\t"
        "vbroadcastss %[b], %%zmm13\n\t"
        "vbroadcastss %[one], %%zmm0\n\t"
        "vmovaps %%zmm0, %%zmm1\n\t" "vmovaps %%zmm0, %%zmm2\n\t" "vmovaps %%zmm0, %%zmm3\n\t"
        "vmovaps %%zmm0, %%zmm4\n\t" "vmovaps %%zmm0, %%zmm5\n\t" "vmovaps %%zmm0, %%zmm6\n\t"
        "vmovaps %%zmm0, %%zmm7\n\t" "vmovaps %%zmm0, %%zmm8\n\t" "vmovaps %%zmm0, %%zmm9\n\t"
        "vmovaps %%zmm0, %%zmm10\n\t" "vmovaps %%zmm0, %%zmm11\n\t"
        "1:\n\t"
        "vfmadd213ps %%zmm13, %%zmm12, %%zmm0\n\t" "vfmadd213ps %%zmm13, %%zmm12, %%zmm1\n\t"
        "vfmadd213ps %%zmm13, %%zmm12, %%zmm2\n\t" "vfmadd213ps %%zmm13, %%zmm12, %%zmm3\n\t"
        "vfmadd213ps %%zmm13, %%zmm12, %%zmm4\n\t" "vfmadd213ps %%zmm13, %%zmm12, %%zmm5\n\t"
        "vfmadd213ps %%zmm13, %%zmm12, %%zmm6\n\t" "vfmadd213ps %%zmm13, %%zmm12, %%zmm7\n\t"
        "vfmadd213ps %%zmm13, %%zmm12, %%zmm8\n\t" "vfmadd213ps %%zmm13, %%zmm12, %%zmm9\n\t"
        "vfmadd213ps %%zmm13, %%zmm12, %%zmm10\n\t" "vfmadd213ps %%zmm13, %%zmm12, %%zmm11\n\t"
        "dec %[n]\n\t"
        "jnz 1b\n\t"
        "vaddps %%zmm1, %%zmm0, %%zmm0\n\t" "vaddps %%zmm3, %%zmm2, %%zmm2\n\t" "vaddps %%zmm5, %%zmm4, %%zmm4\n\t"
        "vaddps %%zmm7, %%zmm6, %%zmm6\n\t" "vaddps %%zmm9, %%zmm8, %%zmm8\n\t" "vaddps %%zmm11, %%zmm10, %%zmm10\n\t"
        "vaddps %%zmm2, %%zmm0, %%zmm0\n\t" "vaddps %%zmm6, %%zmm4, %%zmm4\n\t" "vaddps %%zmm10, %%zmm8, %%zmm8\n\t"
        "vaddps %%zmm4, %%zmm0, %%zmm0\n\t" "vaddps %%zmm8, %%zmm0, %%zmm0\n\t"
        "vmovups %%zmm0, %[lanes]\n\t"
        "vzeroupper\n\t"
        : [n] "+r"(n), [lanes] "=m"(lanes)
        : [a] "m"(a), [b] "m"(b), [one] "m"(one)
        : REGS12("xmm"), "cc", "memory");
    float total = 0;
    for (int i = 0; i < 16; ++i) total += lanes[i];
    *sink = total;
    return (double)iterations * 12 * 16 * 2;
}

__attribute__((target("avx2,fma")))
static double peak_avx2(long iterations, float *sink) {
    if (iterations < 1) { *sink = 0; return 0; }
    const float a = 0.999999f, b = 1e-7f, one = 1.0f;
    float lanes[8];
    long n = iterations;
    __asm__ volatile(
        "vbroadcastss %[a], %%ymm12\n\t"
        "vbroadcastss %[b], %%ymm13\n\t"
        "vbroadcastss %[one], %%ymm0\n\t"
        "vmovaps %%ymm0, %%ymm1\n\t" "vmovaps %%ymm0, %%ymm2\n\t" "vmovaps %%ymm0, %%ymm3\n\t"
        "vmovaps %%ymm0, %%ymm4\n\t" "vmovaps %%ymm0, %%ymm5\n\t" "vmovaps %%ymm0, %%ymm6\n\t"
        "vmovaps %%ymm0, %%ymm7\n\t" "vmovaps %%ymm0, %%ymm8\n\t" "vmovaps %%ymm0, %%ymm9\n\t"
        "vmovaps %%ymm0, %%ymm10\n\t" "vmovaps %%ymm0, %%ymm11\n\t"
        "1:\n\t"
        "vfmadd213ps %%ymm13, %%ymm12, %%ymm0\n\t" "vfmadd213ps %%ymm13, %%ymm12, %%ymm1\n\t"
        "vfmadd213ps %%ymm13, %%ymm12, %%ymm2\n\t" "vfmadd213ps %%ymm13, %%ymm12, %%ymm3\n\t"
        "vfmadd213ps %%ymm13, %%ymm12, %%ymm4\n\t" "vfmadd213ps %%ymm13, %%ymm12, %%ymm5\n\t"
        "vfmadd213ps %%ymm13, %%ymm12, %%ymm6\n\t" "vfmadd213ps %%ymm13, %%ymm12, %%ymm7\n\t"
        "vfmadd213ps %%ymm13, %%ymm12, %%ymm8\n\t" "vfmadd213ps %%ymm13, %%ymm12, %%ymm9\n\t"
        "vfmadd213ps %%ymm13, %%ymm12, %%ymm10\n\t" "vfmadd213ps %%ymm13, %%ymm12, %%ymm11\n\t"
        "dec %[n]\n\t"
        "jnz 1b\n\t"
        "vaddps %%ymm1, %%ymm0, %%ymm0\n\t" "vaddps %%ymm3, %%ymm2, %%ymm2\n\t" "vaddps %%ymm5, %%ymm4, %%ymm4\n\t"
        "vaddps %%ymm7, %%ymm6, %%ymm6\n\t" "vaddps %%ymm9, %%ymm8, %%ymm8\n\t" "vaddps %%ymm11, %%ymm10, %%ymm10\n\t"
        "vaddps %%ymm2, %%ymm0, %%ymm0\n\t" "vaddps %%ymm6, %%ymm4, %%ymm4\n\t" "vaddps %%ymm10, %%ymm8, %%ymm8\n\t"
        "vaddps %%ymm4, %%ymm0, %%ymm0\n\t" "vaddps %%ymm8, %%ymm0, %%ymm0\n\t"
        "vmovups %%ymm0, %[lanes]\n\t"
        "vzeroupper\n\t"
        : [n] "+r"(n), [lanes] "=m"(lanes)
        : [a] "m"(a), [b] "m"(b), [one] "m"(one)
        : REGS12("xmm"), "cc", "memory");
    float total = 0;
    for (int i = 0; i < 8; ++i) total += lanes[i];
    *sink = total;
    return (double)iterations * 12 * 8 * 2;
}

// SSE2 has no fma: a multiply and an add per lane, counted as 2 flops.
static double peak_sse2(long iterations, float *sink) {
    if (iterations < 1) { *sink = 0; return 0; }
    const float a = 0.999999f, b = 1e-7f, one = 1.0f;
    float lanes[4];
    long n = iterations;
    __asm__ volatile(
        "movss %[a], %%xmm12\n\t" "shufps $0, %%xmm12, %%xmm12\n\t"
        "movss %[b], %%xmm13\n\t" "shufps $0, %%xmm13, %%xmm13\n\t"
        "movss %[one], %%xmm0\n\t" "shufps $0, %%xmm0, %%xmm0\n\t"
        "movaps %%xmm0, %%xmm1\n\t" "movaps %%xmm0, %%xmm2\n\t" "movaps %%xmm0, %%xmm3\n\t"
        "movaps %%xmm0, %%xmm4\n\t" "movaps %%xmm0, %%xmm5\n\t" "movaps %%xmm0, %%xmm6\n\t"
        "movaps %%xmm0, %%xmm7\n\t" "movaps %%xmm0, %%xmm8\n\t" "movaps %%xmm0, %%xmm9\n\t"
        "movaps %%xmm0, %%xmm10\n\t" "movaps %%xmm0, %%xmm11\n\t"
        "1:\n\t"
        "mulps %%xmm12, %%xmm0\n\t" "mulps %%xmm12, %%xmm1\n\t" "mulps %%xmm12, %%xmm2\n\t" "mulps %%xmm12, %%xmm3\n\t"
        "mulps %%xmm12, %%xmm4\n\t" "mulps %%xmm12, %%xmm5\n\t" "mulps %%xmm12, %%xmm6\n\t" "mulps %%xmm12, %%xmm7\n\t"
        "mulps %%xmm12, %%xmm8\n\t" "mulps %%xmm12, %%xmm9\n\t" "mulps %%xmm12, %%xmm10\n\t" "mulps %%xmm12, %%xmm11\n\t"
        "addps %%xmm13, %%xmm0\n\t" "addps %%xmm13, %%xmm1\n\t" "addps %%xmm13, %%xmm2\n\t" "addps %%xmm13, %%xmm3\n\t"
        "addps %%xmm13, %%xmm4\n\t" "addps %%xmm13, %%xmm5\n\t" "addps %%xmm13, %%xmm6\n\t" "addps %%xmm13, %%xmm7\n\t"
        "addps %%xmm13, %%xmm8\n\t" "addps %%xmm13, %%xmm9\n\t" "addps %%xmm13, %%xmm10\n\t" "addps %%xmm13, %%xmm11\n\t"
        "dec %[n]\n\t"
        "jnz 1b\n\t"
        "addps %%xmm1, %%xmm0\n\t" "addps %%xmm3, %%xmm2\n\t" "addps %%xmm5, %%xmm4\n\t"
        "addps %%xmm7, %%xmm6\n\t" "addps %%xmm9, %%xmm8\n\t" "addps %%xmm11, %%xmm10\n\t"
        "addps %%xmm2, %%xmm0\n\t" "addps %%xmm6, %%xmm4\n\t" "addps %%xmm10, %%xmm8\n\t"
        "addps %%xmm4, %%xmm0\n\t" "addps %%xmm8, %%xmm0\n\t"
        "movups %%xmm0, %[lanes]\n\t"
        : [n] "+r"(n), [lanes] "=m"(lanes)
        : [a] "m"(a), [b] "m"(b), [one] "m"(one)
        : REGS12("xmm"), "cc", "memory");
    *sink = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    return (double)iterations * 12 * 4 * 2;
}

const char *saegeo_fma_isa(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "avx512";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
    return "sse2";
}

double saegeo_fma_peak(long iterations, float *sink) {
    const char *isa = saegeo_fma_isa();
    if (isa[3] == '5') return peak_avx512(iterations, sink);
    if (isa[3] == '2') return peak_avx2(iterations, sink);
    return peak_sse2(iterations, sink);
}

const char *saegeo_blas_core_for_cpu(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    return 0;
}

#else
const char *saegeo_blas_core_for_cpu(void) { return 0; }

// Other CPUs: plain scalar chains, which the compiler vectorises as it can.
const char *saegeo_fma_isa(void) { return "scalar"; }

double saegeo_fma_peak(long iterations, float *sink) {
    float x[64];
    for (int i = 0; i < 64; ++i) x[i] = (float)(i + 1);
    for (long it = 0; it < iterations; ++it)
        for (int i = 0; i < 64; ++i) x[i] = x[i] * 0.999999f + 1e-7f;
    float total = 0;
    for (int i = 0; i < 64; ++i) total += x[i];
    *sink = total;
    return (double)iterations * 64 * 2;
}
#endif

void saegeo_copy_floats(float *restrict destination, const float *restrict source, size_t n) {
    memcpy(destination, source, n * sizeof(float));
}
