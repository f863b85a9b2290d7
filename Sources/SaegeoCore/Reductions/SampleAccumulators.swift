import Foundation

/// Per-sample sums of one chunk of samples, in float64: what an encoder tile is reduced to
/// (DESIGN.md: score = sum a p / sum a). `explain` > 0 also keeps each sample's features with the
/// largest summed a p.
public struct SampleAccumulators: Sendable {
    var numerator: [Double]
    var denominator: [Double]
    var active: [Int]
    var featureActivation: [Int: Double] = [:]
    /// Per sample, the best (a p summed, feature, a summed) seen so far, at most `explain` of them.
    var best: [[(contribution: Double, feature: Int, activation: Double)]]
    /// What the engines reduce a tile to (EncoderEpilogue).
    public let epilogue: EncoderEpilogue
    var explain: Int { epilogue.explain }
    /// With `keepFeatures`, every active feature of each sample, in feature order: what the
    /// per-sample differences of paired sets reduce (`contrast --paired`).
    var features: [[SampleFeature]]
    var keepFeatures: Bool { epilogue.sampleFeatures }
    /// With the epilogue's `featureMoments`, the moments of the tiles (or pieces of tiles) reduced
    /// so far, each of its own features; `lengths` are the samples' token counts T_s.
    public internal(set) var featureMoments: [FeatureMoments] = []
    let lengths: [Int]
    /// With the epilogue's `selection`, each token's running TopK / GroupMax selection.
    var selection: TopKState?

    init(samples: Int, epilogue: EncoderEpilogue = EncoderEpilogue(), lengths: [Int] = []) {
        numerator = [Double](repeating: 0, count: samples)
        denominator = numerator
        active = [Int](repeating: 0, count: samples)
        best = Array(repeating: [], count: epilogue.explain > 0 ? samples : 0)
        self.epilogue = epilogue
        features = Array(repeating: [], count: epilogue.sampleFeatures ? samples : 0)
        self.lengths = lengths
    }

    /// Empty sums of the same kind for `samples` samples (`lengths`, as many, for moments).
    func empty(samples: Int, lengths: [Int]? = nil) -> SampleAccumulators {
        SampleAccumulators(samples: samples, epilogue: epilogue, lengths: lengths ?? (samples == self.lengths.count ? self.lengths : []))
    }

    /// Adds the sums of the same samples over other features (a piece of a tile).
    mutating func absorb(_ other: SampleAccumulators) {
        for s in numerator.indices {
            numerator[s] += other.numerator[s]
            denominator[s] += other.denominator[s]
            active[s] += other.active[s]
        }
        for (feature, value) in other.featureActivation { featureActivation[feature, default: 0] += value }
        if keepFeatures { for s in features.indices { features[s] += other.features[s] } }
        featureMoments += other.featureMoments
        guard explain > 0 else { return }
        for s in best.indices {
            for entry in other.best[s].sorted(by: { $0.feature < $1.feature }) {
                offer(sample: s, entry)
            }
        }
    }

    /// Keeps the `explain` largest contributions; ties keep the lower feature (offered first).
    mutating func consider(sample s: Int, feature: Int, activation: Double, proximity: Float) {
        guard explain > 0 else { return }
        offer(sample: s, (activation * Double(proximity), feature, activation))
    }

    private mutating func offer(sample s: Int, _ entry: (contribution: Double, feature: Int, activation: Double)) {
        let contribution = entry.contribution
        if best[s].count == explain {
            guard let worst = best[s].indices.min(by: { (best[s][$0].contribution, -best[s][$0].feature) < (best[s][$1].contribution, -best[s][$1].feature) }),
                  contribution > best[s][worst].contribution else { return }
            best[s][worst] = entry
        } else {
            best[s].append(entry)
        }
    }

    /// The first sum that is not finite: its sample (nil for a chunk's per-feature total), its
    /// feature where it has one, what it is, and its value. Activations are positive, so a sum that
    /// overflowed is inf, and inf times a proximity of 0 is NaN: every overflow shows here.
    func firstNonFinite() -> (sample: Int?, feature: Int?, what: String, value: Double)? {
        for s in numerator.indices {
            if !denominator[s].isFinite { return (s, nil, "the sum of its activations", denominator[s]) }
            if !numerator[s].isFinite { return (s, nil, "the sum of its activations times proximity", numerator[s]) }
            for entry in keepFeatures ? features[s] : [] where !entry.sum.isFinite {
                return (s, Int(entry.feature), "the sum of the activations", entry.sum)
            }
            for entry in explain > 0 ? best[s] : [] where !entry.activation.isFinite || !entry.contribution.isFinite {
                return (s, entry.feature, "the sum of the activations", entry.activation)
            }
        }
        for moments in featureMoments {
            if let (f, value) = moments.firstNonFinite() { return (nil, f, "the sum of the per-sample means", value) }
        }
        if let (f, value) = featureActivation.filter({ !$0.value.isFinite }).min(by: { $0.key < $1.key }) {
            return (nil, f, "the total activation", value)
        }
        return nil
    }

    func explanation(_ s: Int) -> [(feature: Int, activation: Double)] {
        best[s].sorted { $0.contribution != $1.contribution ? $0.contribution > $1.contribution : $0.feature < $1.feature }
            .map { ($0.feature, $0.activation) }
    }

    /// ReLU / JumpReLU / gated on one tile of pre-activations `pre` [chunk rows, tile width] (bias not yet
    /// added); features distinct per sample are counted once however many of its tokens activate
    /// them. The hot loop of scoring on the CPU: raw pointers (no bounds checks) and the sample's
    /// sums in registers, added in the same order as a plain loop over rows and features.
    /// `rowStride`: floats from one row of `pre` to the next (default: the tile's width).
    mutating func add(_ pre: UnsafePointer<Float>, rowStride: Int? = nil, tile: EncoderTile, rowStarts: [Int]) {
        let first = tile.features.lowerBound, width = tile.features.count, rowStride = rowStride ?? width
        let jump = tile.activation == .jumpReLU, gated = tile.magnitude != nil, explaining = explain > 0
        let keeping = keepFeatures || epilogue.featureMoments, perSample = explaining || keeping
        var moments = epilogue.featureMoments ? FeatureMoments(features: tile.features) : nil
        var seen = [Int](repeating: -1, count: width)
        var totals = [Double](repeating: 0, count: width)
        var sampleTotals = [Double](repeating: 0, count: perSample ? width : 0)
        var sampleTokens = [Int32](repeating: 0, count: keeping ? width : 0)
        let thresholdArray = jump ? tile.thresholds! : tile.bias
        let magnitude = tile.magnitude ?? MagnitudePath(scale: tile.bias, bias: tile.bias)
        tile.bias.withUnsafeBufferPointer { biasAll in
        thresholdArray.withUnsafeBufferPointer { thresholdAll in
        magnitude.scale.withUnsafeBufferPointer { scaleAll in
        magnitude.bias.withUnsafeBufferPointer { magnitudeBiasAll in
        tile.proximity.withUnsafeBufferPointer { proximityAll in
            let bias = biasAll.baseAddress! + first, threshold = thresholdAll.baseAddress! + first
            let scale = scaleAll.baseAddress! + first, magnitudeBias = magnitudeBiasAll.baseAddress! + first
            let proximity = proximityAll.baseAddress! + first
            for s in 0..<numerator.count {
                var sampleNumerator = numerator[s], sampleDenominator = denominator[s], sampleActive = active[s]
                seen.withUnsafeMutableBufferPointer { seen in
                totals.withUnsafeMutableBufferPointer { totals in
                sampleTotals.withUnsafeMutableBufferPointer { sampleTotals in
                sampleTokens.withUnsafeMutableBufferPointer { sampleTokens in
                    // An activation, added in feature order: the same sums as a plain scalar loop.
                    @inline(__always) func take(_ j: Int, _ a: Float) {
                        sampleNumerator += Double(a) * Double(proximity[j])
                        sampleDenominator += Double(a)
                        totals[j] += Double(a)
                        if perSample { sampleTotals[j] += Double(a) }
                        if keeping { sampleTokens[j] += 1 }
                        if seen[j] != s { seen[j] = s; sampleActive += 1 }
                    }
                    // A gated feature whose gate is open: its magnitude, if positive.
                    @inline(__always) func takeMagnitude(_ j: Int, _ product: Float) {
                        let a = max(product * scale[j] + magnitudeBias[j], 0)
                        if a > 0 { take(j, a) }
                    }
                    let zero = SIMD8<Float>(repeating: 0)
                    for row in rowStarts[s]..<rowStarts[s + 1] {
                        let line = pre + row * rowStride
                        var j = 0
                        // Eight features at a time: most are inactive, and a lane's sum and
                        // comparisons are the scalar ones, so only active lanes are visited.
                        while j + 8 <= width {
                            let value = UnsafeRawPointer(line + j).loadUnaligned(as: SIMD8<Float>.self)
                                + UnsafeRawPointer(bias + j).loadUnaligned(as: SIMD8<Float>.self)
                            var active = value .> zero
                            if jump { active = active .& (value .> UnsafeRawPointer(threshold + j).loadUnaligned(as: SIMD8<Float>.self)) }
                            if any(active) {
                                if gated {
                                    for lane in 0..<8 where active[lane] { takeMagnitude(j + lane, line[j + lane]) }
                                } else {
                                    for lane in 0..<8 where active[lane] { take(j + lane, value[lane]) }
                                }
                            }
                            j += 8
                        }
                        while j < width {
                            let value = line[j] + bias[j]
                            if gated {
                                if value > 0 { takeMagnitude(j, line[j]) }
                            } else {
                                let a: Float = jump ? (value > threshold[j] ? value : 0) : max(value, 0)
                                if a > 0 { take(j, a) }
                            }
                            j += 1
                        }
                    }
                }
                }
                }
                }
                numerator[s] = sampleNumerator
                denominator[s] = sampleDenominator
                active[s] = sampleActive
                if perSample {
                    for j in 0..<width where sampleTotals[j] > 0 {
                        consider(sample: s, feature: first + j, activation: sampleTotals[j], proximity: proximity[j])
                        if keepFeatures {
                            features[s].append(SampleFeature(feature: Int32(first + j), sum: sampleTotals[j], tokens: sampleTokens[j]))
                        }
                        moments?.add(j, sum: sampleTotals[j], tokens: sampleTokens[j], length: rowStarts[s + 1] - rowStarts[s])
                        if keeping { sampleTokens[j] = 0 }
                        sampleTotals[j] = 0
                    }
                }
            }
        }
        }
        }
        }
        }
        for j in 0..<width where totals[j] > 0 { featureActivation[first + j, default: 0] += totals[j] }
        if let moments { featureMoments.append(moments) }
    }

    /// A tile reduced on a device: per-sample sums (float32 from the OpenCL kernels; a backend that
    /// sums in float64 hands them over unrounded) added in float64; `featureSums` [samples, width]
    /// per-(sample, feature) activation sums, read back only to explain or keep features. Public,
    /// and generic over the sums' precision, so that a backend outside SaegeoCore reduces a tile
    /// through it too.
    public mutating func addDeviceSums<Sum: BinaryFloatingPoint>(
        numerator sampleNumerators: [Sum], denominator sampleDenominators: [Sum], active sampleActive: [Int32],
        totals: [Sum], featureSums: [Sum]?, featureTokens: [Int32]? = nil, features: Range<Int>, proximity: [Float],
        momentsFromSums: Bool = true) {
        for s in 0..<numerator.count {
            numerator[s] += Double(sampleNumerators[s])
            denominator[s] += Double(sampleDenominators[s])
            active[s] += Int(sampleActive[s])
        }
        for j in 0..<features.count where totals[j] > 0 {
            featureActivation[features.lowerBound + j, default: 0] += Double(totals[j])
        }
        if let featureSums, epilogue.needsFeatureSums {
            var moments = epilogue.featureMoments && momentsFromSums && featureTokens != nil ? FeatureMoments(features: features) : nil
            for s in 0..<numerator.count {
                for j in 0..<features.count where featureSums[s * features.count + j] > 0 {
                    let sum = Double(featureSums[s * features.count + j])
                    consider(sample: s, feature: features.lowerBound + j, activation: sum, proximity: proximity[features.lowerBound + j])
                    if keepFeatures, let featureTokens {
                        self.features[s].append(SampleFeature(feature: Int32(features.lowerBound + j), sum: sum,
                                                         tokens: featureTokens[s * features.count + j]))
                    }
                    if let featureTokens { moments?.add(j, sum: sum, tokens: featureTokens[s * features.count + j], length: lengths[s]) }
                }
            }
            if let moments { featureMoments.append(moments) }
        }
    }

    /// A tile's moments reduced on a device (the epilogue's `featureMoments`), in place of its
    /// dense per-(sample, feature) sums.
    public mutating func addDeviceMoments(_ moments: FeatureMoments) {
        featureMoments.append(moments)
    }

    /// TopK: the K largest relu(pre) of each token, gathered over all tiles.
    /// `rowStarts` are this part's samples' rows in the chunk (s from 0).
    mutating func add(_ state: TopKState, proximity: [Float], rowStarts: ArraySlice<Int>) {
        let base = rowStarts.startIndex
        var moments = epilogue.featureMoments ? FeatureMoments(features: 0..<proximity.count) : nil
        defer { if let moments { featureMoments.append(moments) } }
        for s in 0..<numerator.count {
            var sums: [Int32: Double] = [:], tokens: [Int32: Int32] = [:]
            for row in rowStarts[base + s]..<rowStarts[base + s + 1] {
                for slot in 0..<state.k {
                    let f = state.ids[row * state.k + slot], value = state.values[row * state.k + slot]
                    guard f >= 0, value > 0 else { continue }
                    numerator[s] += Double(value) * Double(proximity[Int(f)])
                    denominator[s] += Double(value)
                    featureActivation[Int(f), default: 0] += Double(value)
                    sums[f, default: 0] += Double(value)
                    tokens[f, default: 0] += 1
                }
            }
            active[s] = sums.count
            for (f, a) in sums.sorted(by: { $0.key < $1.key }) {
                consider(sample: s, feature: Int(f), activation: a, proximity: proximity[Int(f)])
                if keepFeatures { features[s].append(SampleFeature(feature: f, sum: a, tokens: tokens[f]!)) }
                moments?.add(Int(f), sum: a, tokens: tokens[f]!, length: rowStarts[base + s + 1] - rowStarts[base + s])
            }
        }
    }
}

/// One active feature of one sample: its activation summed over the sample's tokens, and on how
/// many of them it fired.
public struct SampleFeature: Sendable, Equatable {
    public let feature: Int32
    public let sum: Double
    public let tokens: Int32
}
