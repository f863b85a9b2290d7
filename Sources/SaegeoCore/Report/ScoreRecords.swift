import Foundation

/// One sample's line of a scores file as `saegeo score` writes it. `details` is the whole JSON
/// object of a .jsonl line (its `explain` list is decoded only for the few samples a report shows).
struct ScoreRecord {
    let sample: Int
    let score: Float
    let active: Int?
    let details: JSONObject?
}

/// Streams the samples of a scores file in any of score's three formats (`.jsonl`, `.csv`,
/// `.safetensors`; see SampleScores for the format rules, which this reader shares) without holding
/// them: a report reads millions of samples twice and keeps only bins and a few rows. Samples must
/// be exactly 0..<N, each once, in any order, and every score finite, as `filter` demands; checked
/// with one bit per sample.
enum ScoreRecords {
    /// Calls `body` for every sample in file order; returns N.
    @discardableResult
    static func read(_ path: String, _ body: (ScoreRecord) throws -> Void) throws -> Int {
        var seen = SampleSet()
        let lower = path.lowercased()
        func check(_ record: ScoreRecord, _ place: String) throws {
            guard record.sample >= 0 else { throw SaegeoError.badInput("\(path)\(place): sample \(record.sample) is negative; samples must be numbered 0..<N") }
            guard record.score.isFinite else { throw SaegeoError.badInput("\(path)\(place): sample \(record.sample) has score \(record.score); scores must be finite") }
            guard seen.insert(record.sample) else { throw SaegeoError.badInput("\(path)\(place): sample \(record.sample) appears twice") }
            try body(record)
        }
        if lower.hasSuffix(".safetensors") {
            try safetensors(path) { try check($0, "") }
        } else if lower.hasSuffix(".jsonl") {
            try jsonLines(path, check)
        } else if lower.hasSuffix(".csv") {
            try csv(path, check)
        } else {
            throw SaegeoError.badInput("cannot tell the format of \(path); scores come as .jsonl, .csv or .safetensors")
        }
        guard seen.count > 0 else {
            throw SaegeoError.badInput("\(path) holds no samples; score a dataset first (saegeo score)")
        }
        guard seen.highest == seen.count - 1 else {
            throw SaegeoError.badInput("\(path): sample \(seen.highest) is out of range for \(seen.count) samples; samples must be numbered 0..<N")
        }
        if let twice = seen.finish() { throw SaegeoError.badInput("\(path): sample \(twice) appears twice") }
        return seen.count
    }

    static func jsonLines(_ path: String, _ take: (ScoreRecord, String) throws -> Void) throws {
        try LineReader.forEachLine(of: path, what: "scores file") { number, line in
            if LineReader.isBlank(line) { return true }
            let (sample, score, object) = try SampleScores.parseLine(line, number: number, path: path)
            try take(ScoreRecord(sample: sample, score: Float(score), active: object["active"]?.intValue, details: object), " line \(number)")
            return true
        }
    }

    static func csv(_ path: String, _ take: (ScoreRecord, String) throws -> Void) throws {
        var columns: (sample: Int, score: Int, active: Int?, count: Int)?
        try LineReader.forEachLine(of: path, what: "scores file") { number, line in
            if LineReader.isBlank(line) { return true }
            // Fields as written: a space is part of the field, so " 0.5" is not a number.
            let fields = line.split(separator: 0x2C, omittingEmptySubsequences: false)   // ,
                .map { String(decoding: $0, as: UTF8.self) }
            guard let known = columns else {
                guard number == 1, let sample = fields.firstIndex(of: "sample"), let score = fields.firstIndex(of: "score") else {
                    throw SaegeoError.badInput("\(path): the first line must name the columns sample,score[,active]")
                }
                columns = (sample, score, fields.firstIndex(of: "active"), fields.count)
                return true
            }
            guard fields.count == known.count, let sample = DecimalNumber.int(fields[known.sample]),
                  let score = DecimalNumber.double(fields[known.score]).map(Float.init) else {
                throw SaegeoError.badInput("\(path) line \(number): expected \(known.count) columns with a sample number and a decimal score (no spaces, '+', hex, nan or inf)")
            }
            let active = try known.active.map { column in
                guard let count = DecimalNumber.nonNegativeInt(fields[column]) else {
                    throw SaegeoError.badInput("\(path) line \(number): active is '\(fields[column].prefix(40))', not a count of features")
                }
                return count
            }
            try take(ScoreRecord(sample: sample, score: score, active: active, details: nil),
                     " line \(number)")
            return true
        }
    }

    /// `scores` F32 [N] (and `active` I64 [N] when present): sample i is element i. Read from the
    /// mapped file in slices, so that even a file of a billion scores costs no heap.
    static func safetensors(_ path: String, _ take: (ScoreRecord) throws -> Void) throws {
        let file = try SafetensorsFile(path: path)
        guard let tensor = file.tensor("scores"), tensor.dtype == "F32", tensor.shape.count == 1 else {
            throw SaegeoError.badInput("\(path) has no F32 tensor 'scores' of shape [N]; write it with saegeo score")
        }
        let count = tensor.shape[0]
        let (mapped, offset) = try tensor.mapped()
        var activeBase: UnsafeRawPointer?
        if let active = file.tensor("active"), active.dtype == "I64", active.shape == [count] {
            let (activeFile, activeOffset) = try active.mapped()
            activeBase = activeFile.bytes.baseAddress.map { $0 + activeOffset }
        }
        let slice = 1 << 16
        var values = [Float](repeating: 0, count: slice)
        var start = 0
        while start < count {
            try ProcessGuard.cancellation.check()
            let n = min(slice, count - start)
            values.withUnsafeMutableBufferPointer { out in
                ScalarType.f32.load(mapped.bytes.baseAddress! + offset + 4 * start, count: n, stride: 1, into: out.baseAddress!)
            }
            for i in 0..<n {
                let sample = start + i
                let active = activeBase.map { Int(Int64(littleEndian: $0.loadUnaligned(fromByteOffset: 8 * sample, as: Int64.self))) }
                try take(ScoreRecord(sample: sample, score: values[i], active: active, details: nil))
            }
            start += n
        }
    }
}

/// Which sample numbers were seen: one bit each, grown as numbers arrive (N is known only at the
/// end of a stream), so a million samples cost 125 kB.
struct SampleSet {
    private var words: [UInt64] = []
    /// Numbers too far past the others to grow the bits for yet, checked by `finish()`: a hostile
    /// sample number of 10^15 must fail the range check, not allocate petabytes.
    private var far: [Int] = []
    private(set) var count = 0
    private(set) var highest = -1

    /// False when `sample` was already there.
    mutating func insert(_ sample: Int) -> Bool {
        guard sample >> 6 < max(1 << 20, 4 * (count + 64)) else {
            far.append(sample)
            count += 1
            highest = max(highest, sample)
            return true
        }
        return set(sample)
    }

    private mutating func set(_ sample: Int) -> Bool {
        let word = sample >> 6, bit = UInt64(1) << UInt64(sample & 63)
        if word >= words.count {
            words.append(contentsOf: repeatElement(0, count: max(word + 1, 2 * words.count) - words.count))
        }
        guard words[word] & bit == 0 else { return false }
        words[word] |= bit
        if sample > highest { highest = sample }
        count += 1
        return true
    }

    /// Once every number is in and they are known to lie in 0..<count: a far number seen twice, if any.
    mutating func finish() -> Int? {
        let pending = far
        far = []
        count -= pending.count
        return pending.first { !set($0) }
    }
}
