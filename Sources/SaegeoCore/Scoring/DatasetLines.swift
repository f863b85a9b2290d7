import Foundation

/// A dataset file in which line i is sample i (JSONL as fine-tuning sets come), streamed in
/// chunks so that a file of many gigabytes never sits in memory.
public enum DatasetLines {
    /// Copies the lines of `input` for which `keep(line index)` holds to `output`, in order, each
    /// with its own line ending. A last line without a newline still counts. Returns the number of
    /// lines read; stops with an error at the first line past `expected`, so an endless or wrong
    /// file cannot grow the output without bound.
    public static func filter(_ input: String, into output: OutputSink, expected: Int, keep: (Int) -> Bool) throws -> Int {
        let handle = try InputFile.handle(input, what: "dataset")
        func tooLong() -> SaegeoError {
            SaegeoError.badInput("\(input) has more than the scores' \(expected) lines; line i of the dataset must be sample i: give the dataset the scores were computed for")
        }
        var line = 0
        var pending = Data()       // the current line's bytes so far
        var out = Data()
        func flush() throws {
            if out.count >= 1 << 20 {
                try output.write(contentsOf: out)
                out.removeAll(keepingCapacity: true)
            }
        }
        while let chunk = try InputFile.readPiece(handle, path: input, what: "dataset"), !chunk.isEmpty {
            var start = chunk.startIndex
            while let newline = chunk[start...].firstIndex(of: 0x0A) {
                guard line < expected else { throw tooLong() }
                if keep(line) {
                    out.append(pending)
                    out.append(chunk[start...newline])
                }
                pending.removeAll(keepingCapacity: true)
                line += 1
                start = chunk.index(after: newline)
                try flush()
            }
            pending.append(chunk[start...])
            if line >= expected, !pending.isEmpty { throw tooLong() }
        }
        if !pending.isEmpty {
            if keep(line) { out.append(pending) }
            line += 1
        }
        try output.write(contentsOf: out)
        return line
    }
}
