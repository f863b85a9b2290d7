import Foundation

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

    /// The code a device or the system gave, where the error came from one: kept beside the text
    /// so that a caller can act on it (an allocation failure re-plans) without reading the message.
    public enum Code: Equatable, Sendable {
        /// An OpenCL status (negative, `CL_...`).
        case openCL(Int32)
        /// A C library `errno`.
        case errno(Int32)
    }

    public let kind: Kind
    public let message: String
    public let code: Code?

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

    public init(_ kind: Kind, _ message: String, code: Code? = nil) {
        self.kind = kind
        self.message = message
        self.code = code
    }

    /// The OpenCL statuses that mean "not enough memory for this allocation": the device's
    /// (CL_MEM_OBJECT_ALLOCATION_FAILURE -4, CL_OUT_OF_RESOURCES -5), the host's
    /// (CL_OUT_OF_HOST_MEMORY -6), or one buffer larger than the device takes
    /// (CL_INVALID_BUFFER_SIZE -61). A smaller plan may fit where this one did not.
    public static let allocationFailureCodes: Set<Int32> = [-4, -5, -6, -61]

    /// Whether a smaller memory budget may succeed where this failed (JobDevices re-plans once).
    public var isAllocationFailure: Bool {
        if case .openCL(let status) = code { return Self.allocationFailureCodes.contains(status) }
        if case .errno(let number) = code { return number == ENOMEM }
        return false
    }

    public var description: String { message }

    static func badInput(_ message: String) -> SaegeoError { SaegeoError(.badInput, message) }
    static func badFile(_ message: String) -> SaegeoError { SaegeoError(.badFile, message) }
    static func io(_ message: String, errno number: Int32? = nil) -> SaegeoError { SaegeoError(.io, message, code: number.map(Code.errno)) }
    static func device(_ message: String) -> SaegeoError { SaegeoError(.device, message) }
}
