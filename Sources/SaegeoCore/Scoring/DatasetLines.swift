import Foundation

/// A dataset file in which line i is sample i (JSONL as fine-tuning sets come), streamed in
/// chunks so that a file of many gigabytes never sits in memory.
public enum DatasetLines {
    /// Copies the lines of `input` for which `keep(line index)` holds to `output`, in order, each
    /// with its own line ending. A last line without a newline still counts. Returns the number of
    /// lines read.
    public static func filter(_ input: String, into output: FileHandle, keep: (Int) -> Bool) throws -> Int {
        guard let handle = FileHandle(forReadingAtPath: input) else {
            throw SaegeoError.io("cannot read the dataset \(input); check the path and its permissions")
        }
        defer { try? handle.close() }
        var line = 0
        var pending = Data()       // the current line's bytes so far
        var out = Data()
        func flush() throws {
            if out.count >= 1 << 20 {
                try output.write(contentsOf: out)
                out.removeAll(keepingCapacity: true)
            }
        }
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            var start = chunk.startIndex
            while let newline = chunk[start...].firstIndex(of: 0x0A) {
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
        }
        if !pending.isEmpty {
            if keep(line) { out.append(pending) }
            line += 1
        }
        try output.write(contentsOf: out)
        return line
    }
}
