import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where an output goes, decided before any work: a regular file (new or replaced whole, by
/// renaming a finished temporary over it, keeping the old file's mode), or a stream written in
/// place (this process's stdout or stderr, or a character device such as /dev/null: never
/// replaced by a file). Folders, FIFOs, sockets and block devices are refused.
public enum OutputTarget {
    /// `path` is the file to create or replace (symbolic links resolved, so a link stays a link).
    case file(path: String, folder: String, name: String, existingMode: mode_t?)
    /// Written in place through this descriptor (opened or duplicated for the job).
    case stream(path: String, descriptor: Int32)

    static let standardStreams: [String: Int32] = [
        "/dev/stdout": STDOUT_FILENO, "/dev/stderr": STDERR_FILENO, "/dev/fd/1": STDOUT_FILENO,
        "/dev/fd/2": STDERR_FILENO, "/proc/self/fd/1": STDOUT_FILENO, "/proc/self/fd/2": STDERR_FILENO,
    ]

    /// Classifies `path` without changing anything; `open` also opens a stream's descriptor.
    static func check(_ path: String, what: String = "output", open: Bool = false) throws -> OutputTarget {
        guard !path.isEmpty else { throw SaegeoError(.usage, "the \(what) path is empty; give a file name") }
        // `x/` names a folder whether or not it exists: the rename at commit would fail on it.
        guard !path.hasSuffix("/") else {
            throw SaegeoError(.usage, "\(what) \(path) names a folder (it ends in '/'); give a file name")
        }
        if let descriptor = standardStreams[path] {
            return .stream(path: path, descriptor: open ? dup(descriptor) : -1)
        }
        var info = stat()
        if stat(path, &info) != 0 {
            guard errno == ENOENT else {
                throw SaegeoError.io("cannot write \(what) \(path): \(systemError()); check the path", errno: errno)
            }
            var link = stat()
            if lstat(path, &link) == 0 {
                throw SaegeoError.badInput("\(what) \(path) is a symbolic link to nothing; remove it or give another path")
            }
            return try newFile(path, what: what)
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            let target = FileIdentity.realPath(path) ?? path
            let folder = PathName.folder(target)
            try requireWritableFolder(folder.isEmpty ? "." : folder, for: path, what: what)
            return .file(path: target, folder: folder.isEmpty ? "." : folder,
                         name: PathName.name(target), existingMode: info.st_mode & 0o7777)
        case S_IFCHR:
            guard open else { return .stream(path: path, descriptor: -1) }
            let descriptor = Glibc.open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw SaegeoError.io("cannot open \(what) \(path) for writing: \(systemError())", errno: errno)
            }
            return .stream(path: path, descriptor: descriptor)
        default:
            throw SaegeoError.badInput("\(what) \(path) is \(InputFile.kind(info.st_mode)); saegeo writes regular files (or /dev/stdout, /dev/null): give a file path")
        }
    }

    private static func newFile(_ path: String, what: String) throws -> OutputTarget {
        let folder = PathName.folder(path)
        let name = PathName.name(path)
        guard !name.isEmpty, name != ".", name != ".." else {
            throw SaegeoError(.usage, "\(what) \(path) names a folder; give a file name")
        }
        let directory = folder.isEmpty ? "." : folder
        try requireWritableFolder(directory, for: path, what: what)
        return .file(path: path, folder: directory, name: name, existingMode: nil)
    }

    private static func requireWritableFolder(_ folder: String, for path: String, what: String) throws {
        var info = stat()
        guard stat(folder, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw SaegeoError.io("cannot write \(what) \(path): folder \(folder) does not exist; create it first")
        }
        guard access(folder, W_OK) == 0 else {
            throw SaegeoError.io("cannot write \(what) \(path): folder \(folder) is not writable")
        }
    }

    var isStream: Bool { if case .stream = self { true } else { false } }

    /// Whether `path` is written in place (a standard stream or a character device such as
    /// /dev/null), so that a command can pick a format for a path without an extension.
    public static func isStream(_ path: String) -> Bool {
        (try? check(path).isStream) ?? false
    }
}
