// Running top-CANDIDATES per query: merges one similarity tile into the candidates kept so far.
//
// One work-group per query. Query q's similarities are S[q * queryStride + j * keyStride] for the
// validKeys keys j: rows of S (queryStride = ldS, keyStride = 1) when the tile's rows are the
// queries, columns of S (queryStride = 1, keyStride = ldS) when all pairs also update the tile's
// columns. Candidates of query q sit at row candidateOffset + q of the candidate buffers.
// The pool is the previous candidates (inScores/inIds, CANDIDATES slots, empty slots hold
// -inf / -1) followed by the query's similarities. An exact
// radix select over order-preserving 32-bit keys (4 passes of 8 bits, histograms in local
// memory) finds the CANDIDATES-th largest value t; everything above t and just enough of the
// values equal to t are written to outScores/outIds (the host ping-pongs in/out per tile).
// Local memory: 256 counters plus a few words, whatever CANDIDATES is, so k is not limited by
// the device's local memory.
//
// Which of several tied values is kept may vary from run to run; the host re-scores the
// candidates in float64 and certifies the result, so this never changes the output.
//
// Compile-time parameters: TOPK_GROUP (work-items per group), CANDIDATES.

#define RADIX_BINS 256

inline uint order_key(const float v)
{
    const uint bits = as_uint(v);
    return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

__kernel __attribute__((reqd_work_group_size(TOPK_GROUP, 1, 1)))
void topk_merge(__global const float* restrict S,
                const int queryStride,
                const int keyStride,
                const int validKeys,
                const int candidateOffset,
                __global const int* restrict queryIds,
                __global const int* restrict keyIds,
                __global const float* restrict inScores,
                __global const int* restrict inIds,
                __global float* restrict outScores,
                __global int* restrict outIds)
{
    __local uint histogram[RADIX_BINS];
    __local uint prefix, mask, remaining;
    __local uint aboveCount, tiedCount;

    const int row = get_group_id(0);
    const int lid = get_local_id(0);
    const int self = queryIds[row];
    const int poolSize = CANDIDATES + validKeys;
    __global const float* scoreRow = S + (size_t)row * queryStride;
    const size_t slots = (size_t)(candidateOffset + row) * CANDIDATES;
    __global const float* previousScores = inScores + slots;
    __global const int* previousIds = inIds + slots;

    if (lid == 0) { prefix = 0; mask = 0; remaining = CANDIDATES; }
    barrier(CLK_LOCAL_MEM_FENCE);

    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int b = lid; b < RADIX_BINS; b += TOPK_GROUP) histogram[b] = 0;
        barrier(CLK_LOCAL_MEM_FENCE);
        const uint currentPrefix = prefix;
        const uint currentMask = mask;
        for (int i = lid; i < poolSize; i += TOPK_GROUP) {
            float v;
            if (i < CANDIDATES) {
                v = previousScores[i];
            } else {
                const int j = i - CANDIDATES;
                v = keyIds[j] == self ? -INFINITY : scoreRow[(size_t)j * keyStride];
            }
            const uint key = order_key(v);
            if ((key & currentMask) == currentPrefix)
                atomic_inc(&histogram[(key >> shift) & 0xFFu]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid == 0) {
            uint need = remaining;
            int b = RADIX_BINS - 1;
            while (b > 0 && histogram[b] < need) { need -= histogram[b]; --b; }
            prefix = currentPrefix | ((uint)b << shift);
            mask = currentMask | (0xFFu << shift);
            remaining = need;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    // prefix is now the CANDIDATES-th largest key; `remaining` of its copies are kept.
    if (lid == 0) { aboveCount = 0; tiedCount = 0; }
    barrier(CLK_LOCAL_MEM_FENCE);
    const uint threshold = prefix;
    const uint tiedSlots = remaining;
    const int firstTiedSlot = CANDIDATES - (int)tiedSlots;
    __global float* nextScores = outScores + slots;
    __global int* nextIds = outIds + slots;
    for (int i = lid; i < poolSize; i += TOPK_GROUP) {
        float v;
        int id;
        if (i < CANDIDATES) {
            v = previousScores[i];
            id = previousIds[i];
        } else {
            const int j = i - CANDIDATES;
            id = keyIds[j];
            v = id == self ? -INFINITY : scoreRow[(size_t)j * keyStride];
        }
        if (v == -INFINITY) id = -1;
        const uint key = order_key(v);
        if (key > threshold) {
            // The counts match the histogram passes exactly; the bound only makes sure that
            // no inconsistency could ever write past this row's slots.
            const uint slot = atomic_inc(&aboveCount);
            if (slot < (uint)firstTiedSlot) {
                nextScores[slot] = v;
                nextIds[slot] = id;
            }
        } else if (key == threshold) {
            const uint tie = atomic_inc(&tiedCount);
            if (tie < tiedSlots) {
                nextScores[firstTiedSlot + tie] = v;
                nextIds[firstTiedSlot + tie] = id;
            }
        }
    }
}

// Copies `count` candidate slots starting at `first` from one candidate buffer pair to the other.
// (A kernel rather than clEnqueueCopyBuffer: simulators such as oclgrind then track the copied
// values as initialised.)
__kernel __attribute__((reqd_work_group_size(TOPK_GROUP, 1, 1)))
void copy_candidates(__global const float* restrict fromScores,
                     __global const int* restrict fromIds,
                     __global float* restrict toScores,
                     __global int* restrict toIds,
                     const int first,
                     const int count)
{
    const int i = get_global_id(0);
    if (i < count) {
        toScores[first + i] = fromScores[first + i];
        toIds[first + i] = fromIds[first + i];
    }
}
