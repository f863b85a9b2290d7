import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one place that touches a command's output paths. A job declares its inputs and outputs
/// up front; the paths are checked before any work (an output may not be an input or another
/// output, by device and inode where it exists; only regular files are replaced; streams such as
/// /dev/null and /dev/stdout are written in place). Outputs are written to temporaries and
/// committed together, only when every one of them is complete; a job that fails, throws or is
/// interrupted leaves none of them and no temporary behind.
///
/// Temporaries are unnamed files (O_TMPFILE) in the output's folder wherever the file system
/// allows: they vanish with the process however it ends, even on SIGKILL, and get a name only
/// during the commit. Elsewhere (NFS) they are named `.NAME.saegeo-PID-N.partial` and recorded so
/// that a signal or fault removes them.
public final class Job {
    public let command: String
    private let inputs: [(path: String, identity: FileIdentity)]
    private var targets: [String: OutputTarget] = [:]
    private var roles: [String: String] = [:]
    private var order: [String] = []
    private var staged: [String: Staged] = [:]
    /// Every file opened as an input while this job is alive (InputLedger), declared or not.
    private let opened = Locked<[InputLedger.Entry]>([])

    /// A staged temporary of one regular-file output.
    private struct Staged {
        let descriptor: Int32
        var temporaryPath: String?       // nil while unnamed
        var slot: Int32                  // ProcessGuard record of a named temporary
    }

    /// Checks every path. `inputs` are files or folders (a checkpoint folder stands for its files);
    /// `outputs` are the files this job may write, with `-o`-style roles for the messages.
    public init(_ command: String, inputs: [String], outputs: [(role: String, path: String)]) throws {
        self.command = command
        var declared: [(String, FileIdentity)] = []
        for input in inputs {
            for file in FileIdentity.files(of: input) { declared.append((file, FileIdentity(file))) }
        }
        self.inputs = declared
        var seen: [(role: String, path: String, identity: FileIdentity)] = []
        for output in outputs {
            let target = try OutputTarget.check(output.path, what: output.role)
            let identity = FileIdentity(output.path)
            if let input = declared.first(where: { $0.1 == identity }) {
                throw SaegeoError(.usage, "\(output.role) \(output.path) is the input \(input.0); saegeo never overwrites an input: write somewhere else")
            }
            if !target.isStream, let other = seen.first(where: { $0.identity == identity }) {
                throw SaegeoError(.usage, "\(output.role) \(output.path) is also \(other.role) \(other.path); give each output its own file")
            }
            seen.append((output.role, output.path, identity))
            targets[output.path] = target
            roles[output.path] = output.role
            order.append(output.path)
        }
        InputLedger.listen(ObjectIdentifier(self), into: opened)
    }

    /// Checks the outputs against every file this job has opened as an input so far (a config
    /// beside the weights, an id file: whatever the readers opened, declared or not). Commands
    /// call it once their inputs are open, before the work; `write` and `commit` check again.
    public func confirmOutputs() throws {
        for path in order { try confirm(path) }
    }

    private func confirm(_ path: String) throws {
        guard targets[path]?.isStream == false else { return }
        if let input = opened.current.first(where: { InputLedger.isSameFile($0, path) }) {
            let role = roles[path] ?? "output"
            throw SaegeoError(.usage, "\(role) \(path) is the \(input.what) \(input.path), which this job reads; saegeo never overwrites an input: write somewhere else")
        }
    }

    /// Writes one declared output: `produce` fills it; nothing appears until `commit()`.
    public func write(_ path: String, _ produce: (OutputSink) throws -> Void) throws {
        guard let declared = targets[path] else {
            preconditionFailure("\(command) writes \(path), which it did not declare")
        }
        try ProcessGuard.cancellation.check()
        try confirm(path)
        let target = try OutputTarget.check(path, open: true)
        guard target.isStream == declared.isStream else {
            throw SaegeoError.io("\(path) changed kind while the job ran; run it again")
        }
        switch target {
        case .stream(let path, let descriptor):
            defer { close(descriptor) }
            let sink = OutputSink(descriptor: descriptor, path: path)
            try produce(sink)
            try sink.flush()
        case .file(_, let folder, let name, _):
            let temporary = try stage(path, folder: folder, name: name)
            let sink = OutputSink(descriptor: temporary.descriptor, path: path)
            do {
                try produce(sink)
                try sink.flush()
                guard fsync(temporary.descriptor) == 0 || errno == EINVAL else {
                    throw SaegeoError.io("cannot write \(path): \(systemError())", errno: errno)
                }
            } catch {
                discard(path)
                throw error
            }
        }
    }

    private func stage(_ path: String, folder: String, name: String) throws -> Staged {
        discard(path)
        let unnamed = ProcessGuard.openUnnamed(in: folder, mode: 0o666)
        if unnamed >= 0 {
            let entry = Staged(descriptor: unnamed, temporaryPath: nil, slot: -1)
            staged[path] = entry
            return entry
        }
        let named = try namedTemporary(folder: folder, name: name)
        staged[path] = named
        return named
    }

    private static let serial = Locked(0)

    /// A fresh name for a temporary beside `name`: `.NAME.saegeo-PID-N.partial`.
    private static func temporaryName(folder: String, name: String) -> String {
        let serial = serial.withLock { serial in
            serial += 1
            return serial
        }
        return PathName.join(folder, ".\(name).saegeo-\(getpid())-\(serial).partial")
    }

    private func namedTemporary(folder: String, name: String) throws -> Staged {
        for _ in 0..<100 {
            let path = Self.temporaryName(folder: folder, name: name)
            let slot = ProcessGuard.rememberTemporary(path)
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if descriptor >= 0 { return Staged(descriptor: descriptor, temporaryPath: path, slot: slot) }
            ProcessGuard.forgetTemporary(slot)
            guard errno == EEXIST else {
                throw SaegeoError.io("cannot create a temporary file in \(folder): \(systemError()); check the folder's permissions and free space", errno: errno)
            }
        }
        throw SaegeoError.io("cannot create a temporary file in \(folder); too many exist")
    }

    private func discard(_ path: String) {
        guard let entry = staged.removeValue(forKey: path) else { return }
        close(entry.descriptor)
        if let temporary = entry.temporaryPath { unlink(temporary) }
        if entry.slot >= 0 { ProcessGuard.forgetTemporary(entry.slot) }
    }

    /// Puts every written output in place, or none: each staged file gets a name beside its
    /// target (and the replaced file's mode), then all are renamed over their targets. A file
    /// being replaced is kept under a second name until every rename has succeeded, so that a
    /// rename that still fails (the disk, a folder put in the way) puts every old file back.
    public func commit() throws {
        try ProcessGuard.cancellation.check()
        let missing = order.filter { targets[$0]?.isStream == false && staged[$0] == nil }
        precondition(missing.isEmpty, "\(command) did not write \(missing)")
        try confirmOutputs()
        do {
            try ProcessGuard.commitLock.withLock { _ in try renameAll() }
        } catch {
            abandon()
            throw error
        }
    }

    /// commit()'s renames, under the commit lock.
    private func renameAll() throws {
        for path in order {
            guard case .file(let target, let folder, let name, let mode)? = targets[path], var entry = staged[path] else { continue }
            if let mode { fchmod(entry.descriptor, mode) }
            if entry.temporaryPath == nil {
                let named = Self.temporaryName(folder: folder, name: name)
                entry.slot = ProcessGuard.rememberTemporary(named)
                guard ProcessGuard.link(unnamed: entry.descriptor, to: named) else {
                    let number = errno, reason = systemError(number)
                    ProcessGuard.forgetTemporary(entry.slot)
                    entry.slot = -1
                    staged[path] = entry
                    throw SaegeoError.io("cannot write \(target): \(reason); no output was changed", errno: number)
                }
                entry.temporaryPath = named
                staged[path] = entry
            }
        }
        var done: [Replacement] = []
        for path in order {
            guard case .file(let target, let folder, let name, _)? = targets[path], let entry = staged[path],
                  let temporary = entry.temporaryPath else { continue }
            let replacement = Replacement(target: target, previous: keepPrevious(target, folder: folder, name: name))
            guard rename(temporary, target) == 0 else {
                let number = errno, reason = systemError(number)
                replacement.finish()   // this target is unchanged: only its second name goes
                for earlier in done.reversed() { earlier.undo() }
                throw SaegeoError.io("cannot write \(target): \(reason); no output was changed", errno: number)
            }
            done.append(replacement)
            close(entry.descriptor)
            ProcessGuard.forgetTemporary(entry.slot)
            staged[path] = nil
        }
        for replacement in done { replacement.finish() }
    }

    /// One rename of a commit, and how to take it back.
    private struct Replacement {
        let target: String
        /// The replaced file's second name (and its guard slot), or nil where there was none.
        let previous: (path: String, slot: Int32)?

        /// Puts the old file back, or removes the new one where there was no old file.
        func undo() {
            if let previous {
                if rename(previous.path, target) == 0 { ProcessGuard.forgetTemporary(previous.slot) }
            } else {
                unlink(target)
            }
        }

        func finish() {
            guard let previous else { return }
            unlink(previous.path)
            ProcessGuard.forgetTemporary(previous.slot)
        }
    }

    /// A second name (a hard link) for the file a commit is about to replace, so that it can be
    /// put back; nil where there is no such file, or where the file system has no hard links
    /// (that one replacement then cannot be taken back).
    private func keepPrevious(_ target: String, folder: String, name: String) -> (path: String, slot: Int32)? {
        var info = stat()
        guard lstat(target, &info) == 0 else { return nil }
        let path = Self.temporaryName(folder: folder, name: name)
        let slot = ProcessGuard.rememberTemporary(path)
        guard link(target, path) == 0 else {
            ProcessGuard.forgetTemporary(slot)
            return nil
        }
        return (path, slot)
    }

    /// Removes whatever was staged and not committed.
    public func abandon() {
        for path in Array(staged.keys) { discard(path) }
    }

    deinit {
        abandon()
        InputLedger.stopListening(ObjectIdentifier(self))
    }

    /// Writes and commits a single output (a job of one file).
    public static func writeOne(_ path: String, role: String = "output", inputs: [String] = [],
                                _ produce: (OutputSink) throws -> Void) throws {
        let job = try Job("write", inputs: inputs, outputs: [(role, path)])
        try job.write(path, produce)
        try job.commit()
    }
}
