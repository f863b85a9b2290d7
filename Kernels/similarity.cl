// Similarity tile: S[i, j] = <Q[i], K[j]> over unit-normalised float32 rows.
//
// Q is [tileRowsQ, DIM_PAD] and K is [tileRowsK, DIM_PAD], row-major, zero-padded by the host
// to multiples of TILE_M / TILE_N rows and TILE_D columns, so the kernel has no edge cases.
// S is [tileRowsQ, ldS]. The host only ever reads the valid part.
//
// Compile-time parameters (chosen from the device's own limits by KernelConfiguration):
//   TILE_M, TILE_N  outputs per work-group (rows of Q, rows of K)
//   REG_M, REG_N    outputs per work-item, kept in registers
//   TILE_D          slice of d staged in local memory per step (a multiple of 4)
//   USE_LOCAL       1: stage Q and K slices in local memory (GPUs);
//                   0: every work-item streams its rows from global memory (CPU devices,
//                      where local memory is ordinary RAM and staging only costs copies)
//
// Work-item (lx, ly) of a group owns rows baseM + ly + r*GROUP_M and columns
// baseN + lx + c*GROUP_N: neighbouring work-items read neighbouring local-memory words.
//
// Summation: float32 with fma. The host's error bound ((d + 4) * 2^-24 per cosine) holds for any
// order of summation, so the candidates chosen here never lose a true neighbour.

#define GROUP_N (TILE_N / REG_N)
#define GROUP_M (TILE_M / REG_M)
#define VECS (TILE_D / 4)
#if VECS == 4
#define LOG2_VECS 2
#elif VECS == 2
#define LOG2_VECS 1
#elif VECS == 1
#define LOG2_VECS 0
#else
#error "TILE_D must be 4, 8 or 16"
#endif

__kernel __attribute__((reqd_work_group_size(GROUP_N, GROUP_M, 1)))
void similarity_tile(__global const float4* restrict Q,
                     __global const float4* restrict K,
                     __global float* restrict S,
                     const int dimPad,
                     const int ldS)
{
    const int lx = get_local_id(0);
    const int ly = get_local_id(1);
    const int baseN = get_group_id(0) * TILE_N;
    const int baseM = get_group_id(1) * TILE_M;
    const int vecPerRow = dimPad / 4;

#if USE_LOCAL
    // +1 column of padding keeps the transposed stores free of bank conflicts.
    __local float Qs[TILE_D][TILE_M + 1];
    __local float Ks[TILE_D][TILE_N + 1];
    const int thread = ly * GROUP_N + lx;
    const int threads = GROUP_N * GROUP_M;
    const int vec = thread & (VECS - 1);   // which float4 of the staged slice this item loads
    float acc[REG_M][REG_N];
    for (int r = 0; r < REG_M; ++r)
        for (int c = 0; c < REG_N; ++c)
            acc[r][c] = 0.0f;

    for (int d0 = 0; d0 < dimPad; d0 += TILE_D) {
        // Coalesced float4 loads: consecutive work-items read consecutive vectors of a row.
        // Shifts and masks, not / and %: VECS is a power of two, and this keeps the code free of
        // the `freeze` instructions that oclgrind's uninitialised-value checker cannot follow.
        for (int row = thread >> LOG2_VECS; row < TILE_M; row += threads >> LOG2_VECS) {
            const float4 x = Q[(baseM + row) * vecPerRow + d0 / 4 + vec];
            Qs[4 * vec + 0][row] = x.x;
            Qs[4 * vec + 1][row] = x.y;
            Qs[4 * vec + 2][row] = x.z;
            Qs[4 * vec + 3][row] = x.w;
        }
        for (int row = thread >> LOG2_VECS; row < TILE_N; row += threads >> LOG2_VECS) {
            const float4 x = K[(baseN + row) * vecPerRow + d0 / 4 + vec];
            Ks[4 * vec + 0][row] = x.x;
            Ks[4 * vec + 1][row] = x.y;
            Ks[4 * vec + 2][row] = x.z;
            Ks[4 * vec + 3][row] = x.w;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int dd = 0; dd < TILE_D; ++dd) {
            float q[REG_M];
            float k[REG_N];
            for (int r = 0; r < REG_M; ++r) q[r] = Qs[dd][ly + r * GROUP_M];
            for (int c = 0; c < REG_N; ++c) k[c] = Ks[dd][lx + c * GROUP_N];
            for (int r = 0; r < REG_M; ++r)
                for (int c = 0; c < REG_N; ++c)
                    acc[r][c] = fma(q[r], k[c], acc[r][c]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int r = 0; r < REG_M; ++r)
        for (int c = 0; c < REG_N; ++c)
            S[(baseM + ly + r * GROUP_M) * ldS + baseN + lx + c * GROUP_N] = acc[r][c];
#else
    float4 acc[REG_M][REG_N];
    for (int r = 0; r < REG_M; ++r)
        for (int c = 0; c < REG_N; ++c)
            acc[r][c] = (float4)(0.0f);
    __global const float4* q0 = Q + (baseM + ly) * vecPerRow;
    __global const float4* k0 = K + (baseN + lx) * vecPerRow;
    for (int v = 0; v < vecPerRow; ++v) {
        float4 q[REG_M];
        float4 k[REG_N];
        for (int r = 0; r < REG_M; ++r) q[r] = q0[r * GROUP_M * vecPerRow + v];
        for (int c = 0; c < REG_N; ++c) k[c] = k0[c * GROUP_N * vecPerRow + v];
        for (int r = 0; r < REG_M; ++r)
            for (int c = 0; c < REG_N; ++c)
                acc[r][c] = fma(q[r], k[c], acc[r][c]);
    }
    for (int r = 0; r < REG_M; ++r)
        for (int c = 0; c < REG_N; ++c) {
            const float4 a = acc[r][c];
            S[(baseM + ly + r * GROUP_M) * ldS + baseN + lx + c * GROUP_N] = (a.x + a.y) + (a.z + a.w);
        }
#endif
}
