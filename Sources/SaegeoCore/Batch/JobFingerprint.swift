import Foundation

/// A fingerprint of a job's inputs and options, so that a merge can tell which job a shard
/// belongs to: FNV-1a over each input's size and its first and last 64 KiB (headers, and a
/// cheap check on the data), then the options.
public enum JobFingerprint {
    public static func of(files: [String], options: [String]) -> String {
        of(files: files, options: options, namingFiles: true)
    }

    /// The same over one file's size and contents only, not its path: what `merge` checks a
    /// dictionary against when it opens it by another path than the shards did.
    public static func contents(of path: String) -> String {
        of(files: [path], options: [], namingFiles: false)
    }

    static func of(files: [String], options: [String], namingFiles: Bool) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
        for path in files {
            if namingFiles { mix(Array(path.utf8)) }
            guard let handle = try? InputFile.handle(path, what: "input") else { continue }
            defer { try? handle.close() }
            let size = (try? handle.seekToEnd()) ?? 0
            mix(withUnsafeBytes(of: size.littleEndian, Array.init))
            try? handle.seek(toOffset: 0)
            mix((try? handle.read(upToCount: 1 << 16)) ?? Data())
            if size > 1 << 17 {
                try? handle.seek(toOffset: size - (1 << 16))
                mix((try? handle.read(upToCount: 1 << 16)) ?? Data())
            }
        }
        for option in options { mix(Array(option.utf8)); mix([0]) }
        return String(hash, radix: 16)
    }
}
