import Foundation

/// A checkpoint's JSON configuration (SAELens cfg.json, Llama Scope hyperparams.json). Fields are
/// looked up at the top level, then under `metadata`, where newer SAELens configs nest them.
struct JSONConfig {
    let path: String
    let object: [String: Any]

    init(path: String) throws {
        let data = try InputFile.contents(path, what: "checkpoint config", limit: 64 << 20)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw SaegeoError.badFile("\(path) is not a JSON object; re-save the checkpoint's config")
        }
        self.path = path
        self.object = object
    }

    func value(_ key: String) -> Any? {
        if let v = object[key], !(v is NSNull) { return v }
        if let nested = object["metadata"] as? [String: Any], let v = nested[key], !(v is NSNull) { return v }
        return nil
    }

    func string(_ key: String) -> String? { value(key) as? String }

    func bool(_ key: String) -> Bool? {
        if let b = value(key) as? Bool { return b }
        return (value(key) as? NSNumber)?.boolValue
    }

    func double(_ key: String) throws -> Double? {
        guard let v = value(key) else { return nil }
        // JSON true and false are NSNumbers too; on Linux 0 and 1 also cast to Bool, so the
        // number's own type tells them apart.
        guard let n = v as? NSNumber, !Self.isBoolean(n), n.doubleValue.isFinite else {
            throw SaegeoError.badFile("\(path): field '\(key)' is \(v), not a number")
        }
        return n.doubleValue
    }

    func int(_ key: String) throws -> Int? {
        guard let d = try double(key) else { return nil }
        guard d == d.rounded(), d >= 0, d < 1e15 else {
            throw SaegeoError.badFile("\(path): field '\(key)' is \(d), not a size")
        }
        return Int(d)
    }

    static func isBoolean(_ n: NSNumber) -> Bool {
        let type = String(cString: n.objCType)
        return type == "c" || type == "B"
    }

    /// A sub-object such as `activation_fn_kwargs`.
    func object(_ key: String) -> [String: Any]? { value(key) as? [String: Any] }
}
