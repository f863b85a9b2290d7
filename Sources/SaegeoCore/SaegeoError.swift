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
