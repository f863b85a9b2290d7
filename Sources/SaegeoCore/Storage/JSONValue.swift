/// The values `StrictJSON` returns, and the accessors its callers read them with. Integers and
/// other numbers are kept apart, as the parser wrote them, so that a reader of sizes and offsets
/// can refuse `64.0` where it needs an integer; objects keep their members in the order written.
public enum JSONValue: Sendable, Equatable {
    case object(JSONObject)
    case array([JSONValue])
    case string(String)
    /// Written without '.', 'e' or 'E', and fits an Int exactly.
    case integer(Int)
    /// Written with a fraction or an exponent (even `64.0` or `1e2`); always finite.
    case number(Double)
    case bool(Bool)
    case null

    /// Only for JSON integers: `64.0` is not an integer here.
    public var intValue: Int? { if case .integer(let v) = self { v } else { nil } }
    /// Any JSON number, integer or not.
    public var doubleValue: Double? {
        switch self {
        case .integer(let v): Double(v)
        case .number(let v): v
        default: nil
        }
    }
    public var stringValue: String? { if case .string(let v) = self { v } else { nil } }
    public var boolValue: Bool? { if case .bool(let v) = self { v } else { nil } }
    public var objectValue: JSONObject? { if case .object(let v) = self { v } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let v) = self { v } else { nil } }
    public var isNull: Bool { self == .null }

    /// What kind of value this is, for error messages ("an object", "a number").
    public var kindName: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .integer: "an integer"
        case .number: "a non-integer number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }
}

/// An object's members in the order written, with lookup by key. Keys are unique. Small objects
/// (a tensor's dtype, shape and offsets) are searched in place; from `indexedFrom` members on, a
/// dictionary keeps lookups and the duplicate check O(1), so a 200k-member object stays linear.
public struct JSONObject: Sendable, Equatable {
    public private(set) var members: [(key: String, value: JSONValue)] = []
    private var index: [String: Int]?
    static let indexedFrom = 12

    public init() {}

    public var count: Int { members.count }
    public var keys: [String] { members.map(\.key) }

    public subscript(key: String) -> JSONValue? { position(of: key).map { members[$0].value } }

    /// Where each key is in `members`: the dictionary the parse already built for a large object,
    /// so that a caller indexing by name does not hash every key a second time.
    public var positions: [String: Int] {
        index ?? Dictionary(uniqueKeysWithValues: members.enumerated().map { ($1.key, $0) })
    }

    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.count == b.count && zip(a.members, b.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    private func position(of key: String) -> Int? {
        if let index { return index[key] }
        return members.firstIndex { $0.key == key }
    }

    /// Adds a member; false (and no change) when the key is already there. `expectedCount`
    /// sizes the index when it is built (growing a dictionary of 200k keys step by step costs more
    /// than the parse); it is only asked for then.
    mutating func insert(_ key: String, _ value: JSONValue, expectedCount: () -> Int = { 0 }) -> Bool {
        if index != nil {
            guard index!.updateValue(members.count, forKey: key) == nil else { return false }
        } else {
            guard !members.contains(where: { $0.key == key }) else { return false }
            if members.count + 1 >= Self.indexedFrom {
                let capacity = max(members.count * 2, expectedCount())
                members.reserveCapacity(capacity)
                var built = [String: Int](minimumCapacity: capacity)
                for (i, member) in members.enumerated() { built[member.key] = i }
                built[key] = members.count
                index = built
            }
        }
        members.append((key, value))
        return true
    }
}
