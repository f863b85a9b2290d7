import Foundation

/// The lines of a text input, read in chunks of 1 MiB so that a file of many gigabytes (a dataset,
/// a million score lines) never sits in memory: each line is handed over as bytes without its
/// line ending ("\n" or "\r\n"), numbered from 1. A last line without a newline still counts.
enum LineReader {
    /// Calls `body(line number, bytes)` for every line of `path`, in order; `body` returns false
    /// to stop early. The bytes are only valid during the call. Returns the lines read.
    @discardableResult
    static func forEachLine(of path: String, what: String,
                            _ body: (Int, UnsafeRawBufferPointer) throws -> Bool) throws -> Int {
        let handle = try InputFile.handle(path, what: what)
        var number = 0
        var pending: [UInt8] = []      // a line that runs across chunks, so far
        func deliver(_ line: UnsafeRawBufferPointer) throws -> Bool {
            number += 1
            var count = line.count
            if count > 0, line[count - 1] == 0x0D { count -= 1 }   // CRLF
            return try body(number, UnsafeRawBufferPointer(rebasing: line[0..<count]))
        }
        while true {
            try ProcessGuard.cancellation.check()
            let chunk: Data
            do {
                guard let piece = try handle.read(upToCount: 1 << 20), !piece.isEmpty else { break }
                chunk = piece
            } catch {
                throw SaegeoError.io("cannot read \(what) \(path): \(error.localizedDescription)")
            }
            let keepGoing = try chunk.withUnsafeBytes { (all: UnsafeRawBufferPointer) -> Bool in
                var start = 0
                while start < all.count {
                    guard let newline = all[start...].firstIndex(of: 0x0A) else {
                        pending.append(contentsOf: all[start...])
                        return true
                    }
                    let piece = UnsafeRawBufferPointer(rebasing: all[start..<newline])
                    start = newline + 1
                    if pending.isEmpty {
                        guard try deliver(piece) else { return false }
                    } else {
                        pending.append(contentsOf: piece)
                        let whole = pending
                        pending.removeAll(keepingCapacity: true)
                        guard try whole.withUnsafeBytes({ try deliver($0) }) else { return false }
                    }
                }
                return true
            }
            if !keepGoing { return number }
        }
        if !pending.isEmpty { _ = try pending.withUnsafeBytes { try deliver($0) } }
        return number
    }

    /// Whether the bytes are only blanks (spaces and tabs): such lines carry nothing.
    static func isBlank(_ line: UnsafeRawBufferPointer) -> Bool {
        line.allSatisfy { $0 == 0x20 || $0 == 0x09 }
    }
}
