import Foundation
import SaegeoCore

/// Exact top-k by decoder cosine into the caller's [nq * k] buffers, bit-identical to
/// `saegeo neighbors` for the same arguments (the host's certified float64 ranking).
@_cdecl("saegeo_neighbors")
public func saegeo_neighbors(_ sae: UnsafeMutableRawPointer?, _ k: Int64,
                             _ queries: UnsafePointer<Int64>?, _ queryCount: Int64,
                             _ keys: UnsafePointer<Int64>?, _ keyCount: Int64, _ keysSAE: UnsafeMutableRawPointer?,
                             _ device: UnsafePointer<CChar>?, _ precision: UnsafePointer<CChar>?,
                             _ memoryBudget: Int64, _ cancel: UnsafeMutableRawPointer?,
                             _ progress: ProgressFunction?, _ user: UnsafeMutableRawPointer?,
                             _ outIndices: UnsafeMutablePointer<Int64>?, _ outScores: UnsafeMutablePointer<Float>?) -> Int32 {
    Status.run {
        let sae = try Status.object(sae, SAEHandle.self, "sae")
        let outIndices = try Status.required(outIndices, "out_indices")
        let outScores = try Status.required(outScores, "out_scores")
        let dictionary = try sae.checkpoint.decoder()
        let keyDictionary = try keysSAE.map { try Status.object($0, SAEHandle.self, "keys_sae").checkpoint.decoder() }
        let queryIds = try Arguments.ids(queries, queryCount, role: "queries")
        let keyIds = try Arguments.ids(keys, keyCount, role: "keys")
        if let queryIds { try InMemoryJobs.checkIds(queryIds, features: dictionary.features, role: "queries") }
        if let keyIds { try InMemoryJobs.checkIds(keyIds, features: (keyDictionary ?? dictionary).features, role: "keys") }
        let result = try InMemoryJobs.neighbors(of: dictionary, queries: queryIds, keys: keyIds, k: Int(k), keyDictionary: keyDictionary,
                                                devices: try Arguments.devices(device, precision: precision, budget: memoryBudget),
                                                events: Arguments.events(progress, user), cancellation: Arguments.cancellation(cancel))
        try Arguments.cancellation(cancel).check()
        result.indices.withUnsafeBufferPointer { outIndices.update(from: $0.baseAddress!, count: $0.count) }
        result.scores.withUnsafeBufferPointer { outScores.update(from: $0.baseAddress!, count: $0.count) }
    }
}
