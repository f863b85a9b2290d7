/// Every failure a user can cause or meet, as one line that says what is wrong and what to do.
public struct SaegeoError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable {
        case badInput = "bad input"
        case badFile = "bad file"
        case io = "i/o error"
        case device = "device error"
        case usage = "usage"
        /// Stopped by Ctrl-C or SIGTERM.
        case interrupted = "interrupted"
    }

    public let kind: Kind
    public let message: String

    /// The process's exit status for an error of this kind (README, Guarantees), so that a batch
    /// system or a script can tell them apart: 1 for input or options refused (an i/o error names
    /// a path the user gave: missing, unreadable, in a folder that does not exist), 71 (sysexits'
    /// EX_OSERR) for a device that failed, 75 (EX_TEMPFAIL: run again; a shard resumes) for a run
    /// stopped by a signal. A command line that does not parse exits 64 (EX_USAGE), from the
    /// argument parser.
    public var exitStatus: Int32 {
        switch kind {
        case .badInput, .badFile, .usage, .io: 1
        case .device: 71
        case .interrupted: 75
        }
    }

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    static func badInput(_ message: String) -> SaegeoError { SaegeoError(.badInput, message) }
    static func badFile(_ message: String) -> SaegeoError { SaegeoError(.badFile, message) }
    static func io(_ message: String) -> SaegeoError { SaegeoError(.io, message) }
    static func device(_ message: String) -> SaegeoError { SaegeoError(.device, message) }
}
