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
            for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
                let line = rawLine.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("#") { continue }
                guard let id = Int(line) else {
                    throw SaegeoError.badInput("\(path) line \(index + 1): '\(line.prefix(40))' is not a feature id; write one integer per line")
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
