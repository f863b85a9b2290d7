import Foundation

/// Codable JSON in and out with saegeo's messages. Foundation's coders describe a problem in their
/// own words ("The data isn't in the correct format.", "The data is missing.") without the file or
/// the field; every encode and decode of a saegeo file goes through here instead, so that a
/// failure says which file, which field and what was expected, on one line.
public enum JSONCoding {
    /// Pretty, key-sorted JSON (as saegeo writes every JSON file). A value JSON cannot hold (NaN or
    /// an infinity) is refused naming `what` and the field, never written as an invalid token.
    public static func encode<T: Encodable>(_ value: T, what: String, snakeCase: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        if snakeCase { encoder.keyEncodingStrategy = .convertToSnakeCase }
        do {
            return try encoder.encode(value)
        } catch let error as EncodingError {
            throw SaegeoError.badInput("cannot write \(what): \(describe(error, snakeCase: snakeCase))")
        }
    }

    /// Decodes `data`, read from `path`. The text is first read by StrictJSON (so a syntax error
    /// has its byte offset, and a key written twice is refused); a well-formed file of the wrong
    /// shape is described by field: missing, null, or of the wrong type, and what was expected.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, path: String, what: String,
                                            snakeCase: Bool = false) throws -> T {
        do {
            _ = try StrictJSON.parse(Array(data))
        } catch let error as StrictJSONError {
            throw SaegeoError.badInput("\(path) is not \(what): not valid JSON (\(error.reason) at byte \(error.offset))")
        }
        let decoder = JSONDecoder()
        if snakeCase { decoder.keyDecodingStrategy = .convertFromSnakeCase }
        do {
            return try decoder.decode(type, from: data)
        } catch let error as DecodingError {
            throw SaegeoError.badInput("\(path) is not \(what): \(describe(error, snakeCase: snakeCase))")
        }
    }

    /// A coder's error in saegeo's words: the field's path (`devices[0].gflops`) and the problem.
    public static func describe(_ error: Error, snakeCase: Bool = false) -> String {
        func field(_ path: [CodingKey]) -> String {
            guard !path.isEmpty else { return "the top level" }
            var text = ""
            for key in path {
                if let index = key.intValue, key.stringValue.hasPrefix("Index ") || key.stringValue == String(index) {
                    text += "[\(index)]"
                } else {
                    text += (text.isEmpty ? "" : ".") + (snakeCase ? snake(key.stringValue) : key.stringValue)
                }
            }
            return "field '\(text)'"
        }
        switch error {
        case EncodingError.invalidValue(let value, let context):
            return "\(field(context.codingPath)) is \(value), which JSON cannot hold (only finite numbers)"
        case DecodingError.keyNotFound(let key, let context):
            return "\(field(context.codingPath + [key])) is missing"
        case DecodingError.valueNotFound(let type, let context):
            return "\(field(context.codingPath)) is null where \(kind(type)) is expected"
        case DecodingError.typeMismatch(let type, let context):
            return "\(field(context.codingPath)) is not \(kind(type))"
        case DecodingError.dataCorrupted(let context):
            return "\(field(context.codingPath)) holds a value out of range or not among those allowed"
        default:
            return "unexpected \(type(of: error))"
        }
    }

    /// What a Swift type is in JSON, for messages.
    static func kind(_ type: Any.Type) -> String {
        switch type {
        case is Double.Type, is Float.Type: "a number"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt64.Type, is UInt32.Type, is UInt.Type: "an integer"
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        default: String(describing: type).hasPrefix("Array") ? "a list" : "an object"
        }
    }

    /// `rowsPerS` as the file spells it with snake-case keys: `rows_per_s`.
    static func snake(_ key: String) -> String {
        var text = ""
        for character in key {
            if character.isUppercase { text += "_" + character.lowercased() } else { text.append(character) }
        }
        return text
    }
}
