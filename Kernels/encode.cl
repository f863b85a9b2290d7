// Encoder epilogue for scoring: reduces one tile of pre-activations to per-sample sums, so the
// [rows, d_sae] activations of a dataset never exist anywhere.
//
// S [rows, ldS] holds x' . W_tileᵀ for the chunk's token rows (from similarity_tile, without the
// bias). One work-group per sample; its work-items take the tile's features in turn, sum the
// activations a = act(S + b) over the sample's rows (positive ones only, as the Definitions count
// them), and the group reduces sum a p, sum a and the number of active features in local memory.
// featureSums[s, j] keeps each (sample, feature) sum for the dataset totals and explanations,
// featureTokens[s, j] the number of the sample's tokens it fired on (for contrast statistics).
//
// Compile-time parameters: ACTIVATION (0 ReLU, 1 JumpReLU, 2 gated: `bias` is the gate's, and
// where S + bias > 0 the activation is relu(S * magnitudeScale + magnitudeBias)), SCORE_GROUP
// (work-items per group, a power of two).

__kernel __attribute__((reqd_work_group_size(SCORE_GROUP, 1, 1)))
void score_tile(__global const float* restrict S,
                const int ldS,
                const int width,
                __global const float* restrict bias,
                __global const float* restrict threshold,
                __global const float* restrict proximity,
                __global const float* restrict magnitudeScale,
                __global const float* restrict magnitudeBias,
                __global const int* restrict sampleStarts,
                __global float* restrict numerator,
                __global float* restrict denominator,
                __global int* restrict active,
                __global float* restrict featureSums,
                __global int* restrict featureTokens)
{
    __local float localNumerator[SCORE_GROUP];
    __local float localDenominator[SCORE_GROUP];
    __local int localActive[SCORE_GROUP];

    const int sample = get_group_id(0);
    const int lid = get_local_id(0);
    const int first = sampleStarts[sample], last = sampleStarts[sample + 1];
    float num = 0.0f, den = 0.0f;
    int count = 0;
    for (int j = lid; j < width; j += SCORE_GROUP) {
        const float b = bias[j];
#if ACTIVATION == 1
        const float t = threshold[j];
#elif ACTIVATION == 2
        const float ms = magnitudeScale[j], mb = magnitudeBias[j];
#endif
        float sum = 0.0f;
        int tokens = 0;
        for (int r = first; r < last; ++r) {
            const float product = S[(size_t)r * ldS + j];
            const float pre = product + b;
#if ACTIVATION == 1
            const float a = pre > t ? pre : 0.0f;
#elif ACTIVATION == 2
            const float a = pre > 0.0f ? fmax(product * ms + mb, 0.0f) : 0.0f;
#else
            const float a = pre;
#endif
            if (a > 0.0f) { sum += a; tokens += 1; }
        }
        featureSums[(size_t)sample * width + j] = sum;
        featureTokens[(size_t)sample * width + j] = tokens;
        if (sum > 0.0f) {
            count += 1;
            num += sum * proximity[j];
            den += sum;
        }
    }
    localNumerator[lid] = num;
    localDenominator[lid] = den;
    localActive[lid] = count;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step = SCORE_GROUP / 2; step > 0; step >>= 1) {
        if (lid < step) {
            localNumerator[lid] += localNumerator[lid + step];
            localDenominator[lid] += localDenominator[lid + step];
            localActive[lid] += localActive[lid + step];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) {
        numerator[sample] = localNumerator[0];
        denominator[sample] = localDenominator[0];
        active[sample] = localActive[0];
    }
}

// totals[j] = sum over the chunk's samples of featureSums[s, j]: each feature's total activation.
__kernel void feature_totals(__global const float* restrict featureSums,
                             const int samples,
                             const int width,
                             __global float* restrict totals)
{
    const int j = get_global_id(0);
    if (j >= width) return;
    float total = 0.0f;
    for (int s = 0; s < samples; ++s) total += featureSums[(size_t)s * width + j];
    totals[j] = total;
}

#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

// Contrast's per-feature moments, in float64 on the device (only where the device reports
// cl_khr_fp64; otherwise the host reduces the downloaded [samples, tile] sums the same way).
// The arithmetic is the host's, operation for operation (FeatureMoments.add: the mean in double,
// Knuth's two-sum of the mean and of its square, the samples in order), so the moments come out
// the same bits as the host's; contraction is off here so that no multiply is fused into an add.
#pragma OPENCL FP_CONTRACT OFF
inline void two_sum(double* high, double* low, const double x)
{
    const double s = *high + x;
    const double back = s - *high;
    *low += (*high - (s - back)) + (x - back);
    *high = s;
}

inline void add_moment(double* sumHigh, double* sumLow, double* squaresHigh, double* squaresLow,
                       const float sum, const int length)
{
    const double mean = (double)sum / (double)length;
    const double square = mean * mean;
    two_sum(sumHigh, sumLow, mean);
    two_sum(squaresHigh, squaresLow, square);
}
#pragma OPENCL FP_CONTRACT ON

// One work-item per feature of the tile: over the chunk's samples in order, from score_tile's
// featureSums and featureTokens (the sample's activations summed in float over its rows: the sums
// the host reduced before), on how many samples and tokens the feature fired and the moments of
// m_f(s) = sum / T_s. Only these [width] arrays travel back, not the [samples, width] sums. (A
// work-item walks its feature's column of the sums, not of S: samples, not rows, so the column is
// short enough to stay in cache on a CPU device that runs work-items one after another.)
__kernel void feature_moments(__global const float* restrict featureSums,
                              __global const int* restrict featureTokens,
                              const int samples,
                              const int width,
                              __global const int* restrict sampleStarts,
                              __global long* restrict fires,
                              __global long* restrict tokens,
                              __global double* restrict sumHigh,
                              __global double* restrict sumLow,
                              __global double* restrict squaresHigh,
                              __global double* restrict squaresLow)
{
    const int j = get_global_id(0);
    if (j >= width) return;
    long fired = 0, fireTokens = 0;
    double sh = 0.0, sl = 0.0, qh = 0.0, ql = 0.0;
    for (int sample = 0; sample < samples; ++sample) {
        const float sum = featureSums[(size_t)sample * width + j];
        if (sum > 0.0f) {
            fired += 1;
            fireTokens += featureTokens[(size_t)sample * width + j];
            add_moment(&sh, &sl, &qh, &ql, sum, sampleStarts[sample + 1] - sampleStarts[sample]);
        }
    }
    fires[j] = fired;
    tokens[j] = fireTokens;
    sumHigh[j] = sh;
    sumLow[j] = sl;
    squaresHigh[j] = qh;
    squaresLow[j] = ql;
}
#endif
