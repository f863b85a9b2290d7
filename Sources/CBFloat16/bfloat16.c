// bfloat16 rounding in plain C and oneDNN's bfloat16 matmul loaded at run time (dlopen), so that a
// machine without libdnnl still runs saegeo (in float32, or the portable bfloat16 product).
#include "bfloat16.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <oneapi/dnnl/dnnl.h>

static inline uint16_t round_one(float value, float *rounded, double *r2, double *e2) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    // To nearest, ties to even: add 0x7fff plus the lowest kept bit, then cut the low half.
    uint32_t up = bits + 0x7fffu + ((bits >> 16) & 1u);
    uint16_t kept = (uint16_t)(up >> 16);
    // A finite value that rounds up to infinity keeps the largest finite magnitude instead.
    if ((bits & 0x7f800000u) != 0x7f800000u && (kept & 0x7f80u) == 0x7f80u) kept = (uint16_t)((kept & 0x8000u) | 0x7f7fu);
    uint32_t back = (uint32_t)kept << 16;
    float r;
    memcpy(&r, &back, 4);
    float error = value - r;  // exact: r keeps the high bits of value (or is the nearest neighbour)
    *r2 += (double)r * (double)r;
    *e2 += (double)error * (double)error;
    if (rounded) *rounded = r;
    return kept;
}

void saegeo_bf16_round(const float *x, size_t n, uint16_t *bits, float *rounded, double norms[2]) {
    saegeo_bf16_round_strided(x, n, 1, bits, rounded, norms);
}

// The contiguous case, the hot one (every tile is rounded), written branch-free in blocks of 8
// lanes, each lane with its own partial sums: the compiler vectorizes it (cloned for AVX-512 and
// AVX2, chosen at load time). The sums' order is fixed by the lanes, not by the vector width, so
// every clone gives the same bits; the bound allows any order of the double additions.
static inline uint16_t round_bits(float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    uint32_t up = bits + 0x7fffu + ((bits >> 16) & 1u);
    uint16_t kept = (uint16_t)(up >> 16);
    int finite = (bits & 0x7f800000u) != 0x7f800000u;
    int overflowed = (kept & 0x7f80u) == 0x7f80u;
    uint16_t largest = (uint16_t)((kept & 0x8000u) | 0x7f7fu);
    return (finite && overflowed) ? largest : kept;
}

static inline float widen(uint16_t kept) {
    uint32_t back = (uint32_t)kept << 16;
    float r;
    memcpy(&r, &back, 4);
    return r;
}

// One block of 8 values: bits and/or rounded values out, the lanes' partial sums updated.
#define ROUND_BLOCK(STORE_BITS, STORE_ROUNDED)                                   \
    for (int lane = 0; lane < 8; lane++) {                                       \
        uint16_t b = round_bits(x[i + lane]);                                    \
        float r = widen(b), error = x[i + lane] - r;                             \
        r2[lane] += (double)r * (double)r;                                       \
        e2[lane] += (double)error * (double)error;                               \
        if (STORE_BITS) bits[i + lane] = b;                                      \
        if (STORE_ROUNDED) rounded[i + lane] = r;                                \
    }

__attribute__((target_clones("avx512f", "avx2", "default")))
static void round_contiguous(const float *x, size_t n, uint16_t *bits, float *rounded, double norms[2]) {
    double r2[8] = {0}, e2[8] = {0};
    size_t i = 0, blocks = n - n % 8;
    // One loop per output form, so that no store is conditional inside the loop.
    if (bits && rounded) {
        for (; i < blocks; i += 8) ROUND_BLOCK(1, 1)
    } else if (bits) {
        for (; i < blocks; i += 8) ROUND_BLOCK(1, 0)
    } else if (rounded) {
        for (; i < blocks; i += 8) ROUND_BLOCK(0, 1)
    } else {
        for (; i < blocks; i += 8) ROUND_BLOCK(0, 0)
    }
    double sr = 0, se = 0;
    for (; i < n; i++) {
        uint16_t b = round_bits(x[i]);
        float r = widen(b), error = x[i] - r;
        sr += (double)r * (double)r;
        se += (double)error * (double)error;
        if (bits) bits[i] = b;
        if (rounded) rounded[i] = r;
    }
    for (int lane = 0; lane < 8; lane++) { sr += r2[lane]; se += e2[lane]; }
    norms[0] = sr;
    norms[1] = se;
}

void saegeo_bf16_round_strided(const float *x, size_t n, size_t stride, uint16_t *bits, float *rounded, double norms[2]) {
    if (stride == 1) {
        round_contiguous(x, n, bits, rounded, norms);
        return;
    }
    double r2 = 0, e2 = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t b = round_one(x[i * stride], rounded ? &rounded[i] : NULL, &r2, &e2);
        if (bits) bits[i] = b;
    }
    norms[0] = r2;
    norms[1] = e2;
}

int saegeo_bf16_cpu_native(void) {
#if defined(__x86_64__)
    unsigned a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
    if (a < 7) return 0;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (!(c & (1u << 27))) return 0;  // OSXSAVE
    unsigned xcr0_low, xcr0_high;
    __asm__ volatile("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
    if ((xcr0_low & 0xe6u) != 0xe6u) return 0;  // the OS saves the AVX-512 state
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
    int amx_bf16 = (d >> 22) & 1u;
    int avx512f = (b >> 16) & 1u;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(1));
    int avx512_bf16 = (a >> 5) & 1u;
    return (avx512f && avx512_bf16) || amx_bf16;
#else
    return 0;
#endif
}

// oneDNN's functions, looked up once.
#define DNNL_FUNCTIONS(X) X(dnnl_engine_create) X(dnnl_stream_create) X(dnnl_stream_destroy) \
    X(dnnl_stream_wait) X(dnnl_memory_desc_init_by_strides) X(dnnl_matmul_desc_init) \
    X(dnnl_primitive_desc_create) X(dnnl_primitive_desc_destroy) X(dnnl_primitive_desc_query) \
    X(dnnl_primitive_create) X(dnnl_primitive_destroy) X(dnnl_primitive_execute) \
    X(dnnl_memory_create) X(dnnl_memory_destroy) X(dnnl_memory_desc_init_by_tag) X(dnnl_primitive_desc_query_md) \
    X(dnnl_reorder_primitive_desc_create) X(dnnl_memory_desc_get_size)
#define DECLARE(name) static __typeof__(&name) p_##name;
DNNL_FUNCTIONS(DECLARE)

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;
static char load_error[256];
static dnnl_engine_t engine;

static void load(void) {
    // oneDNN's threads are OpenMP's. Between two products saegeo's own threads select candidates
    // and reduce tiles; OpenMP's default is to spin there, taking those cores. Passive waiting
    // costs a wake-up per product instead. libgomp reads this when it loads (with libdnnl, below),
    // and a value the user set is kept.
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    void *library = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        snprintf(load_error, sizeof load_error, "oneDNN is not installed (libdnnl.so.2: %s); apt-get install libdnnl2", dlerror());
        return;
    }
#define LOOKUP(name) p_##name = (__typeof__(&name))dlsym(library, #name); \
    if (!p_##name) { snprintf(load_error, sizeof load_error, "libdnnl.so.2 lacks %s", #name); return; }
    DNNL_FUNCTIONS(LOOKUP)
    dnnl_status_t status = p_dnnl_engine_create(&engine, dnnl_cpu, 0);
    if (status != dnnl_success) {
        snprintf(load_error, sizeof load_error, "oneDNN could not create its CPU engine (status %d)", (int)status);
        return;
    }
    loaded = 1;
}

static void say(char *to, size_t length, const char *text) {
    if (to && length) snprintf(to, length, "%s", text);
}

int saegeo_dnnl_load(char *why, size_t why_length) {
    pthread_once(&once, load);
    if (!loaded) say(why, why_length, load_error);
    return loaded;
}

int saegeo_bf16_gemm(int b_transposed, long m, long n, long k,
                     const uint16_t *a, long lda, const uint16_t *b, long ldb, float *c, long ldc,
                     char *implementation, size_t implementation_length, char *why, size_t why_length) {
    if (!saegeo_dnnl_load(why, why_length)) return -1;
    dnnl_memory_desc_t a_md, b_md, c_md;
    dnnl_dims_t a_dims = {m, k}, a_strides = {lda, 1};
    dnnl_dims_t b_dims = {k, n}, b_strides_t = {1, ldb}, b_strides = {ldb, 1};
    dnnl_dims_t c_dims = {m, n}, c_strides = {ldc, 1};
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t primitive = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_memory_t memories[3] = {NULL, NULL, NULL};
    const char *step = "describe the operands";
    dnnl_status_t status = p_dnnl_memory_desc_init_by_strides(&a_md, 2, a_dims, dnnl_bf16, a_strides);
    if (status == dnnl_success)
        status = p_dnnl_memory_desc_init_by_strides(&b_md, 2, b_dims, dnnl_bf16, b_transposed ? b_strides_t : b_strides);
    if (status == dnnl_success) status = p_dnnl_memory_desc_init_by_strides(&c_md, 2, c_dims, dnnl_f32, c_strides);
    dnnl_matmul_desc_t matmul;
    if (status == dnnl_success) { step = "describe the matmul"; status = p_dnnl_matmul_desc_init(&matmul, &a_md, &b_md, NULL, &c_md); }
    // Identical descriptions hit oneDNN's primitive cache: tiles of one shape build the kernel once.
    if (status == dnnl_success) { step = "choose a kernel"; status = p_dnnl_primitive_desc_create(&pd, &matmul, NULL, engine, NULL); }
    if (status == dnnl_success && implementation && implementation_length) {
        const char *name = NULL;
        if (p_dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) == dnnl_success && name)
            say(implementation, implementation_length, name);
    }
    if (status == dnnl_success) { step = "build the kernel"; status = p_dnnl_primitive_create(&primitive, pd); }
    if (status == dnnl_success) { step = "wrap the operands"; status = p_dnnl_memory_create(&memories[0], &a_md, engine, (void *)a); }
    if (status == dnnl_success) status = p_dnnl_memory_create(&memories[1], &b_md, engine, (void *)b);
    if (status == dnnl_success) status = p_dnnl_memory_create(&memories[2], &c_md, engine, c);
    if (status == dnnl_success) { step = "create a stream"; status = p_dnnl_stream_create(&stream, engine, dnnl_stream_default_flags); }
    if (status == dnnl_success) {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, memories[0]}, {DNNL_ARG_WEIGHTS, memories[1]}, {DNNL_ARG_DST, memories[2]}};
        step = "run the matmul";
        status = p_dnnl_primitive_execute(primitive, stream, 3, args);
        if (status == dnnl_success) status = p_dnnl_stream_wait(stream);
    }
    if (status != dnnl_success && why && why_length)
        snprintf(why, why_length, "oneDNN could not %s (status %d) for a %ld x %ld x %ld bfloat16 product", step, (int)status, m, n, k);
    for (int i = 0; i < 3; i++) if (memories[i]) p_dnnl_memory_destroy(memories[i]);
    if (stream) p_dnnl_stream_destroy(stream);
    if (primitive) p_dnnl_primitive_destroy(primitive);
    if (pd) p_dnnl_primitive_desc_destroy(pd);
    return status == dnnl_success ? 0 : (int)status;
}

// B packed once into the layout oneDNN's kernel reads (see bfloat16.h for why).
struct saegeo_bf16_packed {
    long n, k;
    dnnl_memory_desc_t layout;
    dnnl_memory_t memory;
};

static dnnl_status_t run(dnnl_primitive_t primitive, int count, const dnnl_exec_arg_t *args) {
    dnnl_stream_t stream = NULL;
    dnnl_status_t status = p_dnnl_stream_create(&stream, engine, dnnl_stream_default_flags);
    if (status == dnnl_success) status = p_dnnl_primitive_execute(primitive, stream, count, args);
    if (status == dnnl_success) status = p_dnnl_stream_wait(stream);
    if (stream) p_dnnl_stream_destroy(stream);
    return status;
}

saegeo_bf16_packed *saegeo_bf16_pack(long m, long n, long k, const uint16_t *b, long ldb, char *why, size_t why_length) {
    if (!saegeo_dnnl_load(why, why_length)) return NULL;
    saegeo_bf16_packed *packed = calloc(1, sizeof *packed);
    if (!packed) { say(why, why_length, "no memory for a packed bfloat16 tile"); return NULL; }
    packed->n = n;
    packed->k = k;
    dnnl_memory_desc_t a_md, any_md, c_md, plain_md;
    dnnl_dims_t a_dims = {m, k}, a_strides = {k, 1}, b_dims = {k, n}, b_strides = {1, ldb}, c_dims = {m, n}, c_strides = {n, 1};
    dnnl_primitive_desc_t pd = NULL, reorder_pd = NULL;
    dnnl_primitive_t reorder = NULL;
    dnnl_memory_t source = NULL;
    const char *step = "describe the operands";
    dnnl_status_t status = p_dnnl_memory_desc_init_by_strides(&a_md, 2, a_dims, dnnl_bf16, a_strides);
    if (status == dnnl_success) status = p_dnnl_memory_desc_init_by_tag(&any_md, 2, b_dims, dnnl_bf16, dnnl_format_tag_any);
    if (status == dnnl_success) status = p_dnnl_memory_desc_init_by_strides(&c_md, 2, c_dims, dnnl_f32, c_strides);
    if (status == dnnl_success) status = p_dnnl_memory_desc_init_by_strides(&plain_md, 2, b_dims, dnnl_bf16, b_strides);
    dnnl_matmul_desc_t matmul;
    if (status == dnnl_success) { step = "describe the matmul"; status = p_dnnl_matmul_desc_init(&matmul, &a_md, &any_md, NULL, &c_md); }
    if (status == dnnl_success) { step = "choose a kernel"; status = p_dnnl_primitive_desc_create(&pd, &matmul, NULL, engine, NULL); }
    if (status == dnnl_success) {
        const dnnl_memory_desc_t *layout = p_dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        if (layout) packed->layout = *layout; else status = dnnl_runtime_error;
    }
    if (status == dnnl_success) { step = "allocate the packed tile"; status = p_dnnl_memory_create(&packed->memory, &packed->layout, engine, DNNL_MEMORY_ALLOCATE); }
    if (status == dnnl_success) status = p_dnnl_memory_create(&source, &plain_md, engine, (void *)b);
    if (status == dnnl_success) { step = "describe the packing"; status = p_dnnl_reorder_primitive_desc_create(&reorder_pd, &plain_md, engine, &packed->layout, engine, NULL); }
    if (status == dnnl_success) status = p_dnnl_primitive_create(&reorder, reorder_pd);
    if (status == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, source}, {DNNL_ARG_TO, packed->memory}};
        step = "pack the tile";
        status = run(reorder, 2, args);
    }
    if (status != dnnl_success && why && why_length)
        snprintf(why, why_length, "oneDNN could not %s (status %d) for a %ld x %ld bfloat16 tile", step, (int)status, n, k);
    if (reorder) p_dnnl_primitive_destroy(reorder);
    if (reorder_pd) p_dnnl_primitive_desc_destroy(reorder_pd);
    if (source) p_dnnl_memory_destroy(source);
    if (pd) p_dnnl_primitive_desc_destroy(pd);
    if (status != dnnl_success) { saegeo_bf16_release(packed); return NULL; }
    return packed;
}

size_t saegeo_bf16_packed_bytes(const saegeo_bf16_packed *packed) {
    return packed ? p_dnnl_memory_desc_get_size(&packed->layout) : 0;
}

void saegeo_bf16_release(saegeo_bf16_packed *packed) {
    if (!packed) return;
    if (packed->memory) p_dnnl_memory_destroy(packed->memory);
    free(packed);
}

int saegeo_bf16_gemm_packed(long m, const uint16_t *a, long lda, const saegeo_bf16_packed *packed, float *c, long ldc,
                            char *why, size_t why_length) {
    if (!saegeo_dnnl_load(why, why_length)) return -1;
    dnnl_memory_desc_t a_md, c_md;
    dnnl_dims_t a_dims = {m, packed->k}, a_strides = {lda, 1}, c_dims = {m, packed->n}, c_strides = {ldc, 1};
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t primitive = NULL;
    dnnl_memory_t memories[2] = {NULL, NULL};
    const char *step = "describe the operands";
    dnnl_status_t status = p_dnnl_memory_desc_init_by_strides(&a_md, 2, a_dims, dnnl_bf16, a_strides);
    if (status == dnnl_success) status = p_dnnl_memory_desc_init_by_strides(&c_md, 2, c_dims, dnnl_f32, c_strides);
    dnnl_matmul_desc_t matmul;
    if (status == dnnl_success) { step = "describe the matmul"; status = p_dnnl_matmul_desc_init(&matmul, &a_md, &packed->layout, NULL, &c_md); }
    if (status == dnnl_success) { step = "choose a kernel"; status = p_dnnl_primitive_desc_create(&pd, &matmul, NULL, engine, NULL); }
    if (status == dnnl_success) { step = "build the kernel"; status = p_dnnl_primitive_create(&primitive, pd); }
    if (status == dnnl_success) { step = "wrap the operands"; status = p_dnnl_memory_create(&memories[0], &a_md, engine, (void *)a); }
    if (status == dnnl_success) status = p_dnnl_memory_create(&memories[1], &c_md, engine, c);
    if (status == dnnl_success) {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, memories[0]}, {DNNL_ARG_WEIGHTS, packed->memory}, {DNNL_ARG_DST, memories[1]}};
        step = "run the matmul";
        status = run(primitive, 3, args);
    }
    if (status != dnnl_success && why && why_length)
        snprintf(why, why_length, "oneDNN could not %s (status %d) for a %ld x %ld x %ld packed bfloat16 product", step, (int)status,
                 m, packed->n, packed->k);
    for (int i = 0; i < 2; i++) if (memories[i]) p_dnnl_memory_destroy(memories[i]);
    if (primitive) p_dnnl_primitive_destroy(primitive);
    if (pd) p_dnnl_primitive_desc_destroy(pd);
    return status == dnnl_success ? 0 : (int)status;
}

// Kept apart from the rest: no contraction, so that the decisions are the ones the bound's
// derivation counts (each operation rounded once) on every compiler and CPU.
#pragma STDC FP_CONTRACT OFF
__attribute__((target_clones("avx512f", "avx2", "default")))
void saegeo_bf16_decide_levels(float *line, size_t n, const double *rounded, const double *error, const float *bias,
                               const double *level, double term_rounded, double term_error, double term_floor,
                               float decided, float undecided) {
    for (size_t j = 0; j < n; j++) {
        double a = (double)line[j], b = (double)bias[j];
        double beta = term_rounded * rounded[j] + term_error * error[j] + term_floor;
        double hi = a + b + (beta + 0x1p-22 * (fabs(a) + fabs(b) + beta) + 0x1p-120);
        int certain = (hi <= level[j]) & (a - a == 0) & (b - b == 0) & (hi - hi == 0);
        line[j] = certain ? decided : undecided;
    }
}

__attribute__((target_clones("avx512f", "fma", "default")))
float saegeo_exact_dot_f32(const float *x, const float *y, size_t n) {
    float s0[16] = {0}, s1[16] = {0};
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int l = 0; l < 16; l++) s0[l] = fmaf(x[i + l], y[i + l], s0[l]);
        for (int l = 0; l < 16; l++) s1[l] = fmaf(x[i + 16 + l], y[i + 16 + l], s1[l]);
    }
    float total = -0.0f;
    for (int l = 0; l < 16; l++) total += s0[l] + s1[l];
    for (; i < n; i++) total = fmaf(x[i], y[i], total);
    return total;
}
