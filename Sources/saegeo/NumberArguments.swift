import ArgumentParser
import SaegeoCore

/// How every numeric option is read: through SaegeoCore's one decimal-number reader, never
/// through `Int(_:)` or `Double(_:)`, which take `+5`, `0x1p-3` and `nan`. Each numeric `@Option`
/// names one of these as its `transform`; the error's description is what argument-parser prints
/// after "The value 'X' is invalid for '--name <name>': ".
enum NumberArgument {
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    static func int(_ text: String) throws -> Int {
        guard let value = DecimalNumber.int(text) else {
            throw Problem(description: "\(DecimalNumber.problem(text, integer: true)); give a whole number such as 8")
        }
        return value
    }

    static func double(_ text: String) throws -> Double {
        guard let value = DecimalNumber.double(text) else {
            throw Problem(description: DecimalNumber.problem(text, integer: false))
        }
        return value
    }

    static func float(_ text: String) throws -> Float {
        let value = try double(text)
        guard Float(value).isFinite else { throw Problem(description: "out of range of a 32-bit float") }
        return Float(value)
    }

    /// A seed: any whole number from 0 to 2^64 - 1 (options using it parse `.unconditional`, so
    /// that `--seed -5` reaches this line instead of argument-parser's "Missing value").
    static func seed(_ text: String) throws -> UInt64 {
        guard let value = DecimalNumber.uint64(text) else {
            throw Problem(description: "a seed is a whole number from 0 to \(UInt64.max)")
        }
        return value
    }
}
