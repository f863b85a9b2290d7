import Foundation
import Testing
@testable import SaegeoCore

/// Every checkpoint format and dtype, written byte by byte, gives the same neighbours as the float32
/// matrix its bytes mean, on the CPU and on every OpenCL device.
struct FormatTests {
    static let features = 97, dimension = 45

    /// Random directions with varying norms and one dead feature, before any rounding to a dtype.
    static let values: [Float] = {
        var rng = SeededGenerator(seed: 2024)
        var v = (0..<(features * dimension)).map { _ in Float(rng.gaussian()) }
        for f in 0..<features { for i in 0..<dimension { v[f * dimension + i] *= Float(1 + f % 5) } }
        for i in 0..<dimension { v[4 * dimension + i] = 0 }
        return v
    }()

    struct Case: CustomStringConvertible, Sendable {
        let description: String
        let format: SAECheckpoint.Format
        let dtype: String
        /// Writes the checkpoint under `folder` and returns the path to open and the options.
        let write: @Sendable (_ folder: String, _ decoderBytes: [UInt8], _ transposedBytes: [UInt8]) throws -> (String, SAECheckpoint.Options)
    }

    static func small(_ count: Int, _ dtype: String) -> [UInt8] {
        CheckpointBytes.encode((0..<count).map { Float($0 % 7) * 0.25 - 0.5 }, as: dtype)
    }

    static let cases: [Case] = {
        let n = features, d = dimension
        var cases: [Case] = []
        for dtype in ["F32", "F16"] {
            let descr = dtype == "F32" ? "<f4" : "<f2"
            cases.append(Case(description: "npy \(dtype)", format: .npy, dtype: dtype) { folder, dec, _ in
                let path = folder + "/W_dec.npy"
                try CheckpointBytes.write(CheckpointBytes.npy(descr: descr, shape: [n, d], payload: dec), to: path)
                return (path, .init())
            })
            cases.append(Case(description: "npy \(dtype) Fortran order", format: .npy, dtype: dtype) { folder, _, transposed in
                let path = folder + "/W_dec_fortran.npy"
                try CheckpointBytes.write(CheckpointBytes.npy(descr: descr, shape: [n, d], payload: transposed, fortran: true), to: path)
                return (path, .init())
            })
            for deflate in [false, true] {
                cases.append(Case(description: "gemma-scope \(dtype) \(deflate ? "deflated" : "stored")", format: .gemmaScope, dtype: dtype) { folder, dec, transposed in
                    let members: [(name: String, data: [UInt8])] = [
                        ("w_enc.npy", CheckpointBytes.npy(descr: descr, shape: [d, n], payload: transposed)),
                        ("W_dec.npy", CheckpointBytes.npy(descr: descr, shape: [n, d], payload: dec)),
                        ("b_enc.npy", CheckpointBytes.npy(descr: descr, shape: [n], payload: small(n, dtype))),
                        ("b_dec.npy", CheckpointBytes.npy(descr: descr, shape: [d], payload: small(d, dtype))),
                        ("threshold.npy", CheckpointBytes.npy(descr: descr, shape: [n], payload: small(n, dtype))),
                    ]
                    let path = folder + "/params.npz"
                    try CheckpointBytes.write(CheckpointBytes.zip(members, deflate: deflate), to: path)
                    return (path, .init())
                })
            }
        }
        for dtype in ["F32", "F16", "BF16"] {
            cases.append(Case(description: "saelens \(dtype)", format: .saelens, dtype: dtype) { folder, dec, transposed in
                try CheckpointBytes.write(CheckpointBytes.safetensors([
                    .init(name: "W_dec", dtype: dtype, shape: [n, d], bytes: dec),
                    .init(name: "W_enc", dtype: dtype, shape: [d, n], bytes: transposed),
                    .init(name: "b_enc", dtype: dtype, shape: [n], bytes: small(n, dtype)),
                    .init(name: "b_dec", dtype: dtype, shape: [d], bytes: small(d, dtype)),
                    .init(name: "threshold", dtype: dtype, shape: [n], bytes: small(n, dtype)),
                ]), to: folder + "/sae_weights.safetensors")
                let cfg = "{\"architecture\": \"jumprelu\", \"d_in\": \(d), \"d_sae\": \(n), \"dtype\": \"float32\", \"apply_b_dec_to_input\": false, \"metadata\": {\"model_name\": \"test\"}}"
                try CheckpointBytes.write(Array(cfg.utf8), to: folder + "/cfg.json")
                return (folder, .init())
            })
            cases.append(Case(description: "llama-scope \(dtype)", format: .llamaScope, dtype: dtype) { folder, _, transposed in
                try CheckpointBytes.write(CheckpointBytes.safetensors([
                    .init(name: "encoder.weight", dtype: dtype, shape: [n, d], bytes: small(n * d, dtype)),
                    .init(name: "encoder.bias", dtype: dtype, shape: [n], bytes: small(n, dtype)),
                    .init(name: "decoder.weight", dtype: dtype, shape: [d, n], bytes: transposed),
                    .init(name: "decoder.bias", dtype: dtype, shape: [d], bytes: small(d, dtype)),
                ]), to: folder + "/checkpoints/final.safetensors")
                let hyper = "{\"d_model\": \(d), \"d_sae\": \(n), \"jump_relu_threshold\": 0.5, \"dataset_average_activation_norm\": {\"in\": 12.5, \"out\": 3.0}}"
                try CheckpointBytes.write(Array(hyper.utf8), to: folder + "/hyperparams.json")
                return (folder, .init())
            })
            cases.append(Case(description: "safetensors \(dtype) rows, --tensor", format: .safetensors, dtype: dtype) { folder, dec, _ in
                let path = folder + "/matrices.safetensors"
                try CheckpointBytes.write(CheckpointBytes.safetensors([
                    .init(name: "other", dtype: "F32", shape: [3, 2], bytes: small(6, "F32")),
                    .init(name: "dictionary", dtype: dtype, shape: [n, d], bytes: dec),
                ], metadata: ["format": "pt"]), to: path)
                return (path, .init(tensor: "dictionary"))
            })
            cases.append(Case(description: "safetensors \(dtype) columns", format: .safetensors, dtype: dtype) { folder, _, transposed in
                let path = folder + "/columns.safetensors"
                try CheckpointBytes.write(CheckpointBytes.safetensors([
                    .init(name: "directions", dtype: dtype, shape: [d, n], bytes: transposed),
                ]), to: path)
                return (path, .init(layout: .columns))
            })
        }
        return cases
    }()

    @Test("each format and dtype gives the neighbours of the matrix its bytes mean", arguments: cases)
    func sameNeighbours(_ testCase: Case) throws {
        let folder = TestFiles.path("format-\(testCase.description.replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: ",", with: ""))")
        let decoderBytes = CheckpointBytes.encode(Self.values, as: testCase.dtype)
        let meant = CheckpointBytes.decode(decoderBytes, as: testCase.dtype)
        let transposedBytes = CheckpointBytes.encode(CheckpointBytes.transpose(meant, rows: Self.features, columns: Self.dimension),
                                                     as: testCase.dtype)
        let (path, options) = try testCase.write(folder, decoderBytes, transposedBytes)

        let checkpoint = try SAECheckpoint.open(path, options: options)
        #expect(checkpoint.format == testCase.format)
        #expect(checkpoint.dSAE == Self.features && checkpoint.dModel == Self.dimension)
        #expect(checkpoint.decoderTensor.dtype == testCase.dtype)
        let decoder = try checkpoint.decoder()
        var row = [Float](repeating: 0, count: Self.dimension)
        for f in [0, 1, 4, 50, Self.features - 1] {
            row.withUnsafeMutableBufferPointer { decoder.copyFeature(f, into: $0.baseAddress!) }
            #expect(row == Array(meant[(f * Self.dimension)..<((f + 1) * Self.dimension)]), "feature \(f)")
        }

        let reference = TestDictionary(features: Self.features, dimension: Self.dimension, values: meant, path: path)
            .referenceNeighbors(queries: Array(0..<Self.features), keys: Array(0..<Self.features), k: 6)
        let devices = TestBackends.standardIds
        var first: NeighborResult?
        for device in devices {
            let result = try NeighborSearch(dictionary: decoder, queries: Array(0..<Self.features),
                                            keys: Array(0..<Self.features), k: 6).run(on: try DeviceCatalog.standard().engine(for: device))
            #expect(result.indices == reference.indices, "\(device)")
            #expect(zip(result.scores, reference.scores).allSatisfy { $0 == $1 || abs($0 - $1) <= 1e-6 }, "\(device)")
            if let first {
                #expect(result.scores.map(\.bitPattern) == first.scores.map(\.bitPattern), "\(device) vs cpu")
            } else {
                first = result
            }
        }
    }

    @Test("encoder parameters are read from each SAE format")
    func encoderDescriptions() throws {
        let llama = try #require(Self.cases.first { $0.description == "llama-scope BF16" })
        let bytes = CheckpointBytes.encode(Self.values, as: "BF16")
        let folder = TestFiles.path("encoder-llama")
        let (path, options) = try llama.write(folder, bytes, bytes)
        let checkpoint = try SAECheckpoint.open(path, options: options)
        #expect(checkpoint.architecture == .jumpReLU)
        let encoder = try #require(checkpoint.encoder)
        #expect(encoder.weightFeatureAxis == 0 && encoder.subtractDecoderBias == false)
        #expect(encoder.inputScaling == .constant(Double(Self.dimension).squareRoot() / 12.5))
        if case .scalar(let t) = encoder.threshold { #expect(t == 0.5) } else { Issue.record("expected a scalar threshold") }
        // The file inside checkpoints/ opens as the same checkpoint.
        let direct = try SAECheckpoint.open(folder + "/checkpoints/final.safetensors")
        #expect(direct.format == .llamaScope && direct.dSAE == Self.features)
    }
}
