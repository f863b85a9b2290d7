import Foundation

/// The line-by-line check of a .jsonl / .csv score shard: line i holds sample `range.lowerBound + i`
/// (a JSON integer, or the first CSV field written as an integer), each sample of the range once
/// and in order, every line complete. A count of lines is not enough: edited sample ids would
/// merge into a wrong file.
public enum ScoreLines {
    public static let csvHeader = "sample,score,active"

    /// Checks the file; returns the offset of its first sample line (after the CSV header).
    static func verify(_ data: Data, csv: Bool, samples range: Range<Int>, path: String) throws -> Data.Index {
        func bad(_ line: Int, _ what: String) -> SaegeoError {
            SaegeoError.badInput("\(path) line \(line): \(what); the shard was edited or damaged: compute it again")
        }
        var start = data.startIndex
        var lineNumber = 1
        var bodyStart = data.startIndex
        if csv {
            guard let newline = data.firstIndex(of: 0x0A), String(decoding: data[start..<newline], as: UTF8.self) == csvHeader else {
                throw bad(1, "expected the header \(csvHeader)")
            }
            start = newline + 1
            bodyStart = start
            lineNumber = 2
        }
        var expected = range.lowerBound
        while start < data.endIndex {
            guard let newline = data[start...].firstIndex(of: 0x0A) else { throw bad(lineNumber, "the last line is incomplete") }
            let line = data[start..<newline]
            let sample: Int?
            if csv {
                let fields = line.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
                sample = fields.count == 3 ? Self.integer(fields[0]) : nil
            } else {
                sample = (try? line.withUnsafeBytes { try StrictJSON.parse($0) })?.objectValue?["sample"]?.intValue
            }
            guard let sample else { throw bad(lineNumber, "expected a sample number") }
            guard sample == expected, expected < range.upperBound else {
                throw bad(lineNumber, "sample \(sample) where the shard's range \(range.lowerBound)..<\(range.upperBound) has \(expected < range.upperBound ? "sample \(expected)" : "no more samples")")
            }
            expected += 1
            lineNumber += 1
            start = newline + 1
        }
        guard expected == range.upperBound else {
            throw bad(lineNumber, "the shard ends after sample \(expected - 1) but its range runs to \(range.upperBound - 1)")
        }
        return bodyStart
    }

    /// A decimal integer written plainly (digits, an optional leading '-'), or nil.
    public static func integer<S: Collection>(_ bytes: S) -> Int? where S.Element == UInt8 {
        guard !bytes.isEmpty, bytes.allSatisfy({ (0x30...0x39).contains($0) || $0 == UInt8(ascii: "-") }) else { return nil }
        return Int(String(decoding: bytes, as: UTF8.self))
    }
}
