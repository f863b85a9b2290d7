import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Every input is a regular file, checked before it is read: a FIFO would block the job forever
/// and a device would stream without end. Opening with O_NONBLOCK makes the check itself safe
/// (opening a FIFO for reading blocks until a writer appears).
public enum InputFile {
    /// An open descriptor of the regular file at `path` (blocking reads), or a one-line error.
    public static func open(_ path: String, what: String) throws -> Int32 {
        let descriptor = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw SaegeoError.io("cannot read \(what) \(path): \(systemError()); check the path and its permissions", errno: errno)
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let number = errno, reason = systemError(number)
            close(descriptor)
            throw SaegeoError.io("cannot stat \(what) \(path): \(reason)", errno: number)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw SaegeoError.badInput("\(what) \(path) is \(kind(info.st_mode)), not a regular file; pass the file itself")
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        InputLedger.opened(path, what: what, info: info)
        return descriptor
    }

    /// A handle on the regular file at `path`, closed when released.
    public static func handle(_ path: String, what: String) throws -> FileHandle {
        FileHandle(fileDescriptor: try open(path, what: what), closeOnDealloc: true)
    }

    /// The whole regular file, refused when larger than `limit` bytes (a small text input).
    public static func contents(_ path: String, what: String, limit: Int = 1 << 30) throws -> Data {
        let handle = try handle(path, what: what)
        var data = Data()
        while let piece = try readPiece(handle, path: path, what: what), !piece.isEmpty {
            data.append(piece)
            guard data.count <= limit else {
                throw SaegeoError.badInput("\(what) \(path) is larger than \(limit) bytes, more than such a file can hold; check that it is the right file")
            }
        }
        return data
    }

    /// The next piece of an open input (nil or empty at its end), a read failure in saegeo's words.
    static func readPiece(_ handle: FileHandle, path: String, what: String) throws -> Data? {
        do {
            return try handle.read(upToCount: 1 << 20)
        } catch {
            throw SaegeoError.io("cannot read \(what) \(path): \(error.localizedDescription)")
        }
    }

    /// Fails unless `path` names a regular file or a folder (following links), without opening it.
    public static func requireExisting(_ path: String, what: String, folderAllowed: Bool = false) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw SaegeoError.io("\(what) \(path) cannot be read: \(systemError()); check the path", errno: errno)
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG || (folderAllowed && type == S_IFDIR) else {
            throw SaegeoError.badInput("\(what) \(path) is \(kind(info.st_mode)), not a \(folderAllowed ? "file or folder" : "regular file"); pass the file itself")
        }
    }

    /// A file type in words.
    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a folder"
        case S_IFIFO: "a FIFO (named pipe)"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        case S_IFLNK: "a symbolic link"
        default: "a regular file"
        }
    }
}
