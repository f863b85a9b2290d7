import Foundation

/// Runs the built `saegeo` executable (or another program) as a separate process, as a user would.
enum CommandRunner {
    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The `saegeo` executable built beside this test bundle (`swift build` builds it), or the one
    /// SAEGEO_TEST_BINARY names (to run the command-line suites against another build, e.g. an
    /// older commit's, and see which cases it fails).
    static var saegeo: String {
        if let other = ProcessInfo.processInfo.environment["SAEGEO_TEST_BINARY"] { return other }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundle.appendingPathComponent("saegeo").path
    }

    static func saegeo(_ arguments: [String], environment: [String: String] = [:], directory: String? = nil) throws -> Outcome {
        try run(saegeo, arguments, environment: environment, directory: directory)
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    directory: String? = nil) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        // No tuned kernels from the user's cache unless a test names a cache of its own.
        let hermetic = ["SAEGEO_TUNING_CACHE": FileManager.default.temporaryDirectory.appendingPathComponent("saegeo-no-tuning.json").path]
        process.environment = ProcessInfo.processInfo.environment.merging(hermetic) { $1 }.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes to the end before waiting, so a chatty child cannot block on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus,
                       stdout: String(decoding: outData, as: UTF8.self),
                       stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Whether a program is on the PATH.
    static func which(_ name: String) -> String? {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
