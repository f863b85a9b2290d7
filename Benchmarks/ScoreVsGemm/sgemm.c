// The bare product behind `saegeo score`: activations [rows, d] times the encoder W_enc [d, d_sae],
// one multi-threaded cblas_sgemm per chunk of 2048 rows (saegeo's chunk), nothing else: no bias,
// no threshold, no reduction. The floor that saegeo's whole process is compared with.
//
//   sgemm ACT_FILE ACT_OFFSET ROWS D ENC_FILE ENC_OFFSET D_SAE [CHUNK]
//
// The matrices are read as raw float32 from the byte offsets given (the driver passes the data
// offsets of the safetensors tensors, so both sides read the same files). Prints the OpenBLAS core
// and threads, then `product_seconds S` (the sgemm calls only, the files already in memory).
#include <cblas.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char *openblas_get_corename(void);
extern int openblas_get_num_threads(void);

static float *read_floats(const char *path, long offset, size_t count) {
    float *data = aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64);
    int fd = open(path, O_RDONLY);
    if (!data || fd < 0) { perror(path); exit(1); }
    size_t done = 0, bytes = count * sizeof(float);
    while (done < bytes) {
        ssize_t n = pread(fd, (char *)data + done, bytes - done, offset + (off_t)done);
        if (n <= 0) { fprintf(stderr, "%s: short read\n", path); exit(1); }
        done += (size_t)n;
    }
    close(fd);
    return data;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 8) { fprintf(stderr, "usage: %s ACT OFFSET ROWS D ENC OFFSET D_SAE [CHUNK]\n", argv[0]); return 64; }
    // Like saegeo (BLASCoreChoice.swift): OpenBLAS picks generic SSE3 kernels on VMs that hide the
    // CPU model, so run again with the core this CPU can do, or the floor would be 3x too low.
    const char *core = openblas_get_corename();
    if (!getenv("OPENBLAS_CORETYPE") && (!strcmp(core, "Prescott") || !strcmp(core, "Nehalem") ||
                                         !strcmp(core, "Core2") || !strcmp(core, "Sandybridge"))) {
        __builtin_cpu_init();
        const char *better = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") ? "SkylakeX"
                             : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? "Haswell" : NULL;
        if (better) { setenv("OPENBLAS_CORETYPE", better, 1); execv("/proc/self/exe", argv); }
    }
    long rows = atol(argv[3]), d = atol(argv[4]), n = atol(argv[7]), chunk = argc > 8 ? atol(argv[8]) : 2048;
    float *x = read_floats(argv[1], atol(argv[2]), (size_t)rows * d);
    float *w = read_floats(argv[5], atol(argv[6]), (size_t)d * n);
    float *c = aligned_alloc(64, (size_t)chunk * n * sizeof(float));  // one chunk's output, reused
    double start = now(), checksum = 0;
    for (long r = 0; r < rows; r += chunk) {
        long m = rows - r < chunk ? rows - r : chunk;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)d, 1, x + r * d, (int)d, w, (int)n,
                    0, c, (int)n);
        checksum += c[0] + c[(m - 1) * n + n - 1];  // reads the result, so nothing can be skipped
    }
    double seconds = now() - start;
    printf("OpenBLAS %s, %d threads, checksum %g\nproduct_seconds %.6f\n", openblas_get_corename(),
           openblas_get_num_threads(), checksum, seconds);
    return 0;
}
