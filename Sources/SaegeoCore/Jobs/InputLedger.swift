import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Every file a job reads is an input of that job, whoever opens it. `InputFile.open` is the one
/// way saegeo opens an input, and it reports each file here: every job alive at that moment (and
/// every recording in progress on this thread, see `recording`) adds it to its inputs. So a config
/// read beside the weights, an id file, a tuning cache or a recorded dictionary is covered by the
/// job's path checks without any command having to list it, and a reader added later is covered
/// the day it is written.
///
/// A job records the files opened by any thread while it is alive, so in a process that runs
/// several jobs at once (tests, the Python package) a job also refuses to overwrite a file that
/// another live job reads: conservative, and never wrong.
public enum InputLedger {
    /// One opened file: as it was named, and what it is (device and inode), so that another
    /// spelling of the same file (a link, `..`) is recognised.
    public struct Entry: Sendable, Equatable {
        public let path: String
        public let what: String
        let device: UInt64
        let inode: UInt64
    }

    /// The open lists of the live jobs, by job.
    private static let listeners = Locked<[ObjectIdentifier: Locked<[Entry]>]>([:])

    /// The recording of `recording(_:)` on this thread (task-local: another thread's opens are
    /// not this one's).
    @TaskLocal private static var recorder: Locked<[Entry]>?

    static func listen(_ owner: ObjectIdentifier, into list: Locked<[Entry]>) {
        listeners.withLock { $0[owner] = list }
    }

    static func stopListening(_ owner: ObjectIdentifier) {
        listeners.withLock { _ = $0.removeValue(forKey: owner) }
    }

    /// Called by `InputFile.open` for every regular file it opens.
    static func opened(_ path: String, what: String, info: stat) {
        let entry = Entry(path: path, what: what, device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        func add(_ list: Locked<[Entry]>) {
            list.withLock { entries in if !entries.contains(entry) { entries.append(entry) } }
        }
        for list in listeners.withLock({ Array($0.values) }) { add(list) }
        if let recorder { add(recorder) }
    }

    /// Runs `body` and returns the files it opened on this thread, in the order first opened (a
    /// checkpoint's files: its configs and its weights, whichever family it is).
    static func recording<R>(_ body: () throws -> R) rethrows -> (R, [Entry]) {
        let list = Locked<[Entry]>([])
        let result = try $recorder.withValue(list) { try body() }
        return (result, list.current)
    }

    /// Whether `entry` is the file at `path` as it is now (by device and inode).
    static func isSameFile(_ entry: Entry, _ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return UInt64(info.st_dev) == entry.device && UInt64(info.st_ino) == entry.inode
    }
}
