import ArgumentParser
import SaegeoCore

/// argument-parser lets a single-value option be given twice and keeps the last (`-k 5 -k 50`
/// runs with 50): a typo or a pasted command line then runs something other than what either
/// value says. One check for every command, before parsing: the commands' own description (the
/// tool info argument-parser dumps for `--experimental-dump-help`) says which options take one
/// value, and any of them named twice is refused.
enum RepeatedOptions {
    struct Option {
        let names: [String]
        let takesValue: Bool
        let unconditional: Bool
        let repeating: Bool
    }

    /// Throws a usage error (argument-parser's, so it exits as one) naming the first single-value option given more than once.
    static func check(_ arguments: [String], root: ParsableCommand.Type) throws {
        guard let tool = try? StrictJSON.parse(root._dumpHelp()), var command = tool.objectValue?["command"]?.objectValue else {
            return   // no description to check against: argument-parser's own rules apply
        }
        var rest = arguments[...]
        // Walk down the subcommands the arguments name.
        while let word = rest.first,
              let sub = command["subcommands"]?.arrayValue?.lazy.compactMap(\.objectValue).first(where: { $0["commandName"]?.stringValue == word }) {
            command = sub
            rest = rest.dropFirst()
        }
        var options: [String: Option] = [:]
        for argument in command["arguments"]?.arrayValue ?? [] {
            guard let object = argument.objectValue, let kind = object["kind"]?.stringValue, kind != "positional" else { continue }
            let names = (object["names"]?.arrayValue ?? []).compactMap { name -> String? in
                guard let n = name.objectValue?["name"]?.stringValue else { return nil }
                return (name.objectValue?["kind"]?.stringValue == "short" ? "-" : "--") + n
            }
            let option = Option(names: names, takesValue: kind == "option",
                                unconditional: object["parsingStrategy"]?.stringValue == "unconditional",
                                repeating: object["isRepeating"]?.boolValue ?? false)
            for name in names { options[name] = option }
        }
        var seen: [String: (name: String, value: String?)] = [:]
        var index = rest.startIndex
        while index < rest.endIndex {
            let word = rest[index]
            index += 1
            if word == "--" { break }
            guard word.hasPrefix("-") else { continue }
            let equals = word.firstIndex(of: "=")
            let name = equals.map { String(word[..<$0]) } ?? word
            guard let option = options[name] else { continue }
            var value: String?
            if option.takesValue {
                if let equals {
                    value = String(word[word.index(after: equals)...])
                } else if index < rest.endIndex, option.unconditional || !rest[index].hasPrefix("-") {
                    value = rest[index]
                    index += 1
                }
            }
            guard option.takesValue, !option.repeating else { continue }
            let key = option.names.first ?? name
            if let earlier = seen[key] {
                let values = [earlier.value, value].map { $0.map { "'\($0)'" } ?? "no value" }
                throw ValidationError("\(earlier.name == name ? name : "\(earlier.name) and \(name)") given twice (\(values[0]), then \(values[1])), and it takes one value: give it once")
            }
            seen[key] = (name, value)
        }
    }
}
