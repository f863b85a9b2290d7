import Foundation
import SaegeoCAPI
import SaegeoCore

/// The C interface (saegeo.h) called as the Python package calls it, through the @_cdecl
/// functions' Swift names: statuses checked, strings freed, arrays handed over in place.
enum CAPI {
    struct Failure: Error, CustomStringConvertible {
        let status: Int32
        let message: String
        var description: String { "status \(status): \(message)" }
    }

    /// Throws the status and saegeo_last_error's message of a failed call.
    static func check(_ status: Int32) throws {
        guard status != 0 else { return }
        throw Failure(status: status, message: String(cString: saegeo_last_error()))
    }

    /// The status and message of a call expected to fail ((0, "") if it succeeded).
    static func failure(_ body: () throws -> Void) -> (status: Int32, message: String) {
        do {
            try body()
            return (0, "")
        } catch let failure as Failure {
            return (failure.status, failure.message)
        } catch {
            return (-1, "\(error)")
        }
    }

    /// A string out of the library, freed with saegeo_free_string.
    static func string(_ call: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32) throws -> String {
        var out: UnsafeMutablePointer<CChar>?
        try check(call(&out))
        defer { saegeo_free_string(out) }
        return String(cString: out!)
    }

    static func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    static func openSAE(_ path: String, format: String? = nil) throws -> UnsafeMutableRawPointer {
        var sae: UnsafeMutableRawPointer?
        let status = format.map { f in f.withCString { saegeo_sae_open(path, $0, &sae) } } ?? saegeo_sae_open(path, nil, &sae)
        try check(status)
        return sae!
    }

    /// Counts progress calls through the `user` pointer (a C callback captures nothing).
    final class ProgressCount {
        let calls = Locked(0)
        let lastTotal = Locked(Int64(0))
    }
    static let progress: ProgressFunction = { _, _, total, user in
        let count = Unmanaged<ProgressCount>.fromOpaque(user!).takeUnretainedValue()
        count.calls.withLock { $0 += 1 }
        count.lastTotal.withLock { $0 = total }
    }

    /// Adds rows (float32 values, or their 16-bit patterns with dtype 1 or 2) to a scorer.
    static func add<T>(scorer: UnsafeMutableRawPointer?, _ values: [T], dtype: Int32 = 0, dModel: Int, starts: [Int]?,
                       cancel: UnsafeMutableRawPointer? = nil) throws {
        let offsets = starts?.map(Int64.init)
        try values.withUnsafeBytes { rows in
            try check(withOptional(offsets) {
                saegeo_scorer_add(scorer, rows.baseAddress, dtype, Int64(values.count / dModel), Int64(dModel), $0,
                                  Int64(offsets?.count ?? 0), cancel, nil, nil)
            })
        }
    }

    static func add(contrast: UnsafeMutableRawPointer?, set: Int32, _ values: [Float], dModel: Int, starts: [Int]?) throws {
        let offsets = starts?.map(Int64.init)
        try values.withUnsafeBytes { rows in
            try check(withOptional(offsets) {
                saegeo_contrast_add(contrast, set, rows.baseAddress, 0, Int64(values.count / dModel), Int64(dModel), $0,
                                    Int64(offsets?.count ?? 0), nil, nil, nil)
            })
        }
    }

    /// `body` with a pointer to `array`'s values, or NULL for nil.
    static func withOptional<R>(_ array: [Int64]?, _ body: (UnsafePointer<Int64>?) throws -> R) rethrows -> R {
        guard let array else { return try body(nil) }
        return try array.withUnsafeBufferPointer { try body($0.baseAddress) }
    }

    /// A finished scorer's scores, active counts, explanations and summary.
    static func finish(_ scorer: UnsafeMutableRawPointer?, nullSets: Int64, seed: UInt64)
        throws -> (scores: [Double], active: [Int64], explain: String, summary: String) {
        var result: UnsafeMutableRawPointer?
        try check(saegeo_scorer_finish(scorer, nullSets, seed, nil, &result))
        defer { saegeo_result_free(result) }
        let n = Int(saegeo_result_samples(result))
        var scores = [Double](repeating: .nan, count: n), active = [Int64](repeating: -1, count: n)
        saegeo_result_copy(result, &scores, &active)
        return (scores, active, try string { saegeo_result_explain_json(result, $0) }, try string { saegeo_result_summary_json(result, $0) })
    }

    /// The toxic ids of a generated job's file.
    static func toxicIds(_ path: String) throws -> [Int64] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
    }
}
