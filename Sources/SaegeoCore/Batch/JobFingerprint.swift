import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A fingerprint of a job's inputs and options, so that a resumed run and a merge can tell which
/// job a checkpoint block or a shard belongs to: FNV-1a over each input's path, size and the
/// CRC-32 of its whole content (read on all cores, `Checksum.ofFile`), then the options. A byte
/// changed anywhere in an input makes another job; nothing is sampled.
public enum JobFingerprint {
    public static func of(files: [String], options: [String]) throws -> String {
        try of(files: files, options: options, namingFiles: true)
    }

    /// The same over one file's size and contents only, not its path: what `merge` checks a
    /// dictionary against when it opens it by another path than the shards did.
    public static func contents(of path: String) throws -> String {
        try of(files: [path], options: [], namingFiles: false)
    }

    static func of(files: [String], options: [String], namingFiles: Bool) throws -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
        var seen = Set<String>()
        for path in files where seen.insert(path).inserted {
            if namingFiles { mix(Array(path.utf8)) }
            let descriptor = try InputFile.open(path, what: "input")
            defer { close(descriptor) }
            var info = stat()
            guard fstat(descriptor, &info) == 0 else { throw SaegeoError.io("cannot stat \(path): \(systemError())") }
            let size = Int(info.st_size)
            let crc = try Checksum.ofFile(descriptor, size: size, path: path)
            mix(withUnsafeBytes(of: UInt64(size).littleEndian, Array.init))
            mix(withUnsafeBytes(of: crc.value.littleEndian, Array.init))
        }
        for option in options { mix(Array(option.utf8)); mix([0]) }
        return String(hash, radix: 16)
    }
}
