import Foundation
import Testing
@testable import SaegeoCore

/// What the hostile suites share: a small generated job, fresh folders, special files, a one-line
/// error check, and a way to interfere with a running saegeo (stop it, act, let it go on).
protocol HostileSuite {}

/// The small generated job of the hostile suites.
let hostileExample = ExampleJob.inTestFolder("hostile-example", features: 700, dimension: 48, samples: 400, tokens: 3, seed: 11)

extension HostileSuite {
    static var example: ExampleJob { hostileExample }

    /// Linux's device number (glibc's makedev is a macro Swift does not import).
    static func device(_ major: UInt64, _ minor: UInt64) -> dev_t {
        dev_t((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12) | ((major & ~0xfff) << 32))
    }

    /// A fresh, empty folder for one test.
    static func folder(_ name: String) throws -> String {
        let path = TestFiles.path("hostile-\(name)")
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func contents(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }
    static func listing(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    }

    /// A failed run: non-zero status, one line on stderr, no backtrace.
    static func expectOneLineError(_ run: CommandRunner.Outcome, _ words: String..., sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = run.stderr.split(separator: "\n")
        #expect(run.status != 0, "exit 0: \(run.stderr)", sourceLocation: sourceLocation)
        #expect(lines.count == 1 && run.stderr.hasPrefix("saegeo: error: "), "not one error line: \(run.stderr)", sourceLocation: sourceLocation)
        #expect(!run.stderr.contains("Backtrace") && !run.stderr.contains("Fatal error"), "\(run.stderr)", sourceLocation: sourceLocation)
        for word in words { #expect(run.stderr.contains(word), "'\(word)' not in: \(run.stderr)", sourceLocation: sourceLocation) }
    }

    /// A call refused with a one-line SaegeoError that mentions `words`.
    static func expectRefused(_ words: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("accepted; expected a refusal with '\(words)'", sourceLocation: sourceLocation)
        } catch let error as SaegeoError {
            #expect(error.message.contains(words) && !error.message.contains("\n"), "\(error.message)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("not a SaegeoError: \(error)", sourceLocation: sourceLocation)
        }
    }
    func scoreArguments(_ output: String, extra: [String] = []) -> [String] {
        ["score", "--sae", Self.example.saePath, "--toxic", Self.example.toxicPath, "--activations", Self.example.activationsPath,
         "--offsets", "offsets", "-o", output, "--device", "cpu", "--null-sets", "3"] + extra
    }



    /// Starts saegeo, waits until `ready` holds (or it ends), stops it, does `act`, lets it go on,
    /// and returns its outcome.
    static func interfere(_ arguments: [String], environment: [String: String] = [:], ready: (Int32) -> Bool,
                          act: (Int32) -> Void) throws -> (status: Int32, stderr: String, interfered: Bool) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandRunner.saegeo)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let err = Pipe()
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning, Date() < deadline, !ready(process.processIdentifier) { usleep(500) }
        kill(process.processIdentifier, SIGSTOP)
        let interfered = process.isRunning
        act(process.processIdentifier)
        kill(process.processIdentifier, SIGCONT)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stderr, interfered)
    }

    /// Whether process `pid` has `path` open (it has started reading it).
    static func opened(_ pid: Int32, _ path: String) -> Bool {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        return fds.contains { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")) == path }
    }

    /// Whether process `pid` has `path` mapped (it has started reading it).
    static func maps(_ pid: Int32, _ path: String) -> Bool {
        (try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8))?.contains(path) ?? false
    }


    /// The example's SAE as a Gemma Scope params.npz written by np.savez_compressed (deflated members).
    static func gemmaScopeCopy(_ path: String) throws -> String {
        let sae = try SafetensorsContents(path: example.saePath + "/sae_weights.safetensors")
        let members = try ["W_enc", "W_dec", "b_enc", "b_dec", "threshold"].map { name in
            let tensor = try #require(sae.tensors[name], "the example SAE lost \(name)")
            return (name: name + ".npy", data: CheckpointBytes.npy(descr: "<f4", shape: tensor.shape, payload: [UInt8](tensor.bytes)))
        }
        try CheckpointBytes.write(CheckpointBytes.zip(members, deflate: true), to: path)
        return path
    }

}
