import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a path refers to, so that two spellings of one file (`./a`, `x/../a`, a symbolic link, a
/// hard link) compare equal: the device and inode where the file exists, else the absolute path
/// with links and `..` resolved in its folder.
struct FileIdentity: Equatable {
    let resolvedPath: String
    let inode: (device: UInt64, number: UInt64)?

    init(_ path: String) {
        var info = stat()
        if stat(path, &info) == 0 {
            inode = (UInt64(info.st_dev), UInt64(info.st_ino))
        } else {
            inode = nil
        }
        resolvedPath = Self.resolve(path)
    }

    static func == (a: FileIdentity, b: FileIdentity) -> Bool {
        if let x = a.inode, let y = b.inode { return x.device == y.device && x.number == y.number }
        return a.resolvedPath == b.resolvedPath
    }

    /// The absolute path with every link and `..` resolved (the file itself need not exist).
    static func resolve(_ path: String) -> String {
        if let real = realPath(path) { return real }
        let folder = PathName.folder(path)
        let name = PathName.name(path)
        let base = realPath(folder.isEmpty ? "." : folder) ?? folder
        return PathName.join(base, name)
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The regular files an input stands for: the file, or the files of a checkpoint folder
    /// (two levels deep: Llama Scope keeps its weights in `checkpoints/`).
    static func files(of path: String, depth: Int = 2) -> [String] {
        var info = stat()
        guard stat(path, &info) == 0 else { return [path] }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return [path] }
        guard depth > 0, let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return [] }
        return names.flatMap { files(of: PathName.join(path, $0), depth: depth - 1) }
    }
}
