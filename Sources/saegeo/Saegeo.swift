import ArgumentParser
import Foundation
import SaegeoCore

@main
struct Saegeo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saegeo",
        abstract: "How close a fine-tuning dataset sits to toxic features in an SAE's feature geometry.",
        version: Saegeo.version,
        subcommands: [Devices.self, Inspect.self, Neighbors.self, Plan.self, Score.self, Filter.self, Merge.self, Bench.self, Tune.self, Generate.self, Demo.self, ReportCommand.self, Contrast.self])

    static let version = SaegeoVersion.current

    /// Starts over with OPENBLAS_CORETYPE set when OpenBLAS loaded generic kernels on a CPU that
    /// has better ones (BLASCoreChoice); if the exec fails, it runs on as it is. Then installs the
    /// signal and fault handling every command shares, and runs the command.
    static func main() {
        if let core = BLASCoreChoice.betterCore() {
            setenv("OPENBLAS_CORETYPE", core, 1)
            execv("/proc/self/exe", CommandLine.unsafeArgv)
        }
        ProcessGuard.install()
        Console.startClock()
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard !arguments.isEmpty else {
            Console.error("give a command: \(configuration.subcommands.map { $0._commandName }.joined(separator: ", ")); see saegeo --help")
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        do {
            try RepeatedOptions.check(arguments, root: Saegeo.self)
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            // Help and --version print in full; a usage error is one line.
            guard exitCode(for: error) != .success else { exit(withError: error) }
            let line = Self.oneLine(message(for: error))
            let help = arguments.first.flatMap { word in configuration.subcommands.first { $0._commandName == word } }
                .map { "saegeo \($0._commandName) --help" } ?? "saegeo --help"
            Console.error("\(line.hasPrefix("Error: ") ? String(line.dropFirst(7)) : line) (see \(help))")
            Foundation.exit(exitCode(for: error).rawValue)
        }
    }

    /// argument-parser's message as one line: its lists (a bad `--format` gets one value per
    /// line) joined with commas, never cut after the first line.
    static func oneLine(_ message: String) -> String {
        let lines = message.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard let first = lines.first else { return message }
        let rest = lines.dropFirst().map { $0.hasPrefix("- ") ? String($0.dropFirst(2)) : $0 }
        return rest.isEmpty ? first : first + " " + rest.joined(separator: ", ")
    }

    /// Runs a command body, turning saegeo's errors into one line on stderr and the exit status of
    /// their kind (SaegeoError.exitStatus); any other error is one line and status 1.
    static func reporting(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as SaegeoError {
            Console.error(error.message)
            throw ExitCode(error.exitStatus)
        } catch let error as ExitCode {
            throw error
        } catch {
            // Anything else still ends as one line in saegeo's words: never a raw dump, and never
            // Foundation's own sentences ("The data isn't in the correct format."), which name
            // neither the file nor what to do.
            Console.error(foreignErrorLine(error))
            throw ExitCode(1)
        }
    }

    /// An error that is not a SaegeoError (a coder's, a file system call's) as saegeo's one line:
    /// coders' errors by field (JSONCoding), a file error by its path and the system's reason.
    static func foreignErrorLine(_ error: Error) -> String {
        if error is EncodingError || error is DecodingError { return "cannot read or write JSON: " + JSONCoding.describe(error) }
        let ns = error as NSError
        let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError
        if let posix = [ns, underlying].compactMap({ $0 }).first(where: { $0.domain == NSPOSIXErrorDomain }) {
            return "\(path ?? "a file"): \(String(cString: strerror(Int32(posix.code)))); check the path and its permissions"
        }
        return "unexpected \(ns.domain) error \(ns.code)\(path.map { " on \($0)" } ?? ""); run the command again, and report it if it persists"
    }
}
