import CProcessGuard
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How the process ends when it must: on SIGINT, SIGTERM or SIGHUP it raises one cancellation
/// flag that every job polls between tiles and writes (so it stops, removes its temporaries and
/// exits 75); a second signal ends it at once, temporaries removed, with the same status. A vanished page of a mapped
/// input (SIGBUS) ends it with one line naming the file. The tables a signal handler reads live in
/// CProcessGuard; this file is their only Swift caller.
public enum ProcessGuard {
    /// Raised by the first SIGINT, SIGTERM or SIGHUP.
    public static let cancellation = Cancellation()

    /// Held while a job renames its outputs into place, so that a second signal cannot cut a
    /// commit in half: it waits for the renames, then exits.
    static let commitLock = Locked(())

    /// Installs the handlers (once per process; the CLI calls it before any command runs).
    public static func install() { _ = sources }

    /// The signal sources, made (and the fault handler installed) on first use.
    nonisolated(unsafe) private static let sources: [DispatchSourceSignal] = {
        saegeo_guard_install_fault_handler()
        return [SIGINT, SIGTERM, SIGHUP].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                if cancellation.isCancelled {
                    // The job did not stop at its next tile or write: end now, leaving nothing behind.
                    commitLock.withLock { _ in
                        die("interrupted again; stopped at once, and removed every output not yet committed",
                            status: SaegeoError(.interrupted, "").exitStatus)
                    }
                }
                cancellation.cancel()
            }
            source.resume()
            return source
        }
    }()

    /// Ends the process with one line, after removing every uncommitted temporary.
    public static func die(_ message: String, status: Int32 = 1) -> Never {
        message.withCString { saegeo_guard_die($0, status) }
    }

    /// An input that is shorter than when it was opened: nothing it says can be trusted any more.
    public static func inputVanished(_ path: String) -> Never {
        die("\(path) became shorter while saegeo was reading it (truncated or replaced in place); leave the inputs of a running job alone and run it again")
    }

    /// Remembers a named temporary until `forget` (a signal or fault removes it).
    static func rememberTemporary(_ path: String) -> Int32 {
        Int32(path.withCString { saegeo_guard_add_temporary($0) })
    }

    static func forgetTemporary(_ slot: Int32) { saegeo_guard_remove_temporary(slot) }

    static func rememberMapping(_ base: UnsafeRawPointer, size: Int, path: String) -> Int32 {
        Int32(path.withCString { saegeo_guard_add_mapping(base, size, $0) })
    }

    static func forgetMapping(_ slot: Int32) { saegeo_guard_remove_mapping(slot) }

    /// An unnamed file in `folder` (see CProcessGuard), or -1 where the file system has none.
    static func openUnnamed(in folder: String, mode: mode_t, readable: Bool = false) -> Int32 {
        folder.withCString { saegeo_guard_open_unnamed($0, UInt32(mode), readable ? 1 : 0) }
    }

    static func link(unnamed descriptor: Int32, to path: String) -> Bool {
        path.withCString { saegeo_guard_link_unnamed(descriptor, $0) } == 0
    }
}

/// The text of errno, for messages.
func systemError(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }
