import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes an output file so that it appears whole or not at all: the bytes go to a temporary file
/// in the same folder, which is renamed over the destination only after everything was written.
public enum AtomicOutput {
    /// Fails early, before any computing, when the destination's folder cannot take a file.
    public static func checkWritable(_ path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let dir = folder.isEmpty ? "." : folder
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SaegeoError.io("cannot write \(path): folder \(dir) does not exist; create it first")
        }
        guard access(dir, W_OK) == 0 else {
            throw SaegeoError.io("cannot write \(path): folder \(dir) is not writable")
        }
    }

    public static func write(to path: String, _ produce: (FileHandle) throws -> Void) throws {
        try checkWritable(path)
        let folder = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let temporary = (folder.isEmpty ? "" : folder + "/") + ".\(name).partial-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: nil),
              let handle = FileHandle(forWritingAtPath: temporary) else {
            throw SaegeoError.io("cannot create \(temporary); check the folder's permissions and free space")
        }
        do {
            try produce(handle)
            try handle.synchronize()
            try handle.close()
            guard rename(temporary, path) == 0 else {
                throw SaegeoError.io("cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? handle.close()
            unlink(temporary)
            if let error = error as? SaegeoError { throw error }
            throw SaegeoError.io("cannot write \(path): \(error.localizedDescription)")
        }
    }
}
