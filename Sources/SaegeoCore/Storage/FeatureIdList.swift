import Foundation

/// A set of feature ids chosen by the user: `all`, or a text file with one id per line
/// (blank lines and lines starting with `#` are ignored).
public enum FeatureSelection: Sendable, Equatable {
    case all
    case file(String)

    public init(argument: String) {
        self = argument == "all" ? .all : .file(argument)
    }

    public var label: String {
        switch self {
        case .all: "all"
        case .file(let path): path
        }
    }

    /// The ids in file order (or 0..<features), each checked against the dictionary's size.
    public func resolve(features: Int, role: String) throws -> [Int] {
        switch self {
        case .all:
            return Array(0..<features)
        case .file(let path):
            let data = try InputFile.contents(path, what: "\(role) file", limit: 1 << 30)
            guard let text = String(data: data, encoding: .utf8) else {
                throw SaegeoError.badInput("the \(role) file \(path) is not UTF-8 text; write one feature id per line")
            }
            var ids: [Int] = []
            // "\r\n" is one Character in Swift, so split on any newline rather than on "\n".
            for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
                // The id (DecimalNumber; spaces around it are the line's layout): "+3", "-0", "0x3" are not ids.
                guard let id = DecimalNumber.nonNegativeInt(trimmed) else {
                    let problem = DecimalNumber.isDecimal(trimmed, integer: true) && !trimmed.hasPrefix("-") ? "too large to be" : "not"
                    throw SaegeoError.badInput("\(path) line \(index + 1): \(JSONValue.quoted(String(trimmed.prefix(40)))) is \(problem) a feature id; write one id (digits only, no sign) per line")
                }
                guard id >= 0, id < features else {
                    throw SaegeoError.badInput("\(path) line \(index + 1): feature id \(id) is out of range; the dictionary has features 0..<\(features)")
                }
                ids.append(id)
            }
            guard !ids.isEmpty else {
                throw SaegeoError.badInput("the \(role) file \(path) holds no feature ids; write one id per line")
            }
            return ids
        }
    }
}
