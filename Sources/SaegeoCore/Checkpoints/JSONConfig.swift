import Foundation

/// A checkpoint's JSON configuration (SAELens cfg.json, Llama Scope hyperparams.json). Fields are
/// looked up at the top level, then under `metadata`, where newer SAELens configs nest them.
///
/// Read with the project's strict JSON reader (StrictJSON: no trailing commas, no BOM, no key
/// twice), and typed: a field that is there but of the wrong type is an error naming the file and
/// the field, never read as absent. A config says what the weights mean (which architecture,
/// whether b_dec is subtracted), so `"architecture": 5` or `"apply_b_dec_to_input": "false"`
/// silently taken as "not given" would encode with another SAE than the one saved. Only `null`
/// counts as absent, as SAELens writes it for an unset field.
struct JSONConfig {
    let path: String
    let object: JSONObject
    /// For a section (`trainer`): its name and a dot, so that messages name the field in full.
    let prefix: String
    /// Where fields missing from `object` are looked up (SAELens' `metadata`); nil for a section.
    let fallback: JSONObject?

    init(path: String) throws {
        let data = try InputFile.contents(path, what: "checkpoint config", limit: 64 << 20)
        let value: JSONValue
        do {
            value = try StrictJSON.parse(Array(data))
        } catch let error as StrictJSONError {
            throw SaegeoError.badFile("\(path) is not valid JSON (\(error.reason) at byte \(error.offset)); re-save the checkpoint's config")
        }
        guard let object = value.objectValue else {
            throw SaegeoError.badFile("\(path) is \(value.kindName), not a JSON object; re-save the checkpoint's config")
        }
        let metadata = object["metadata"]
        guard metadata == nil || metadata!.isNull || metadata!.objectValue != nil else {
            throw SaegeoError.badFile("\(path): field 'metadata' is \(metadata!.kindName), not an object; re-save the checkpoint's config")
        }
        self.init(path: path, object: object, prefix: "", fallback: metadata?.objectValue)
    }

    private init(path: String, object: JSONObject, prefix: String, fallback: JSONObject?) {
        self.path = path
        self.object = object
        self.prefix = prefix
        self.fallback = fallback
    }

    /// The field's value, nil when it is absent or null.
    func value(_ key: String) -> JSONValue? {
        if let v = object[key], !v.isNull { return v }
        if let v = fallback?[key], !v.isNull { return v }
        return nil
    }

    private func wrongType(_ key: String, _ value: JSONValue, _ expected: String) -> SaegeoError {
        let shown = value.jsonText
        return SaegeoError.badFile("\(path): field '\(prefix)\(key)' is \(value.kindName) (\(shown.count > 60 ? shown.prefix(60) + "..." : shown)), where \(expected) is expected; fix the config")
    }

    func string(_ key: String) throws -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v.stringValue else { throw wrongType(key, v, "a string") }
        return s
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = value(key) else { return nil }
        guard let b = v.boolValue else { throw wrongType(key, v, "true or false") }
        return b
    }

    func double(_ key: String) throws -> Double? {
        guard let v = value(key) else { return nil }
        guard let d = v.doubleValue else { throw wrongType(key, v, "a number") }
        return d
    }

    /// A size or count: a whole number of at least 0 (`16384.0` too, as some exporters write it).
    func int(_ key: String) throws -> Int? {
        guard let v = value(key) else { return nil }
        guard let d = v.doubleValue, d == d.rounded(), d >= 0, d < 1e15 else {
            throw wrongType(key, v, "a whole number of at least 0")
        }
        return Int(d)
    }

    /// A TopK checkpoint's K, which must pick between 1 and all of the `features`.
    func topK(_ key: String, features: Int) throws -> Int? {
        guard let k = try int(key) else { return nil }
        guard (1...max(1, features)).contains(k) else {
            throw SaegeoError.badFile("\(path): field '\(prefix)\(key)' is \(k), not a valid K for \(features) features: a TopK SAE keeps between 1 and \(features) per token; fix the config")
        }
        return k
    }

    /// A sub-object such as `activation_fn_kwargs`, read with the same typed accessors.
    func section(_ key: String) throws -> JSONConfig? {
        guard let v = value(key) else { return nil }
        guard let object = v.objectValue else { throw wrongType(key, v, "an object") }
        return JSONConfig(path: path, object: object, prefix: prefix + key + ".", fallback: nil)
    }
}
