/// A path's folder and name, computed on the string. Foundation's NSString path methods trap on
/// some short paths (a one-character relative path such as `x`), so saegeo never uses them.
public enum PathName {
    /// The path without its trailing slashes (`/` stays `/`).
    static func trimmed(_ path: String) -> Substring {
        var end = path.endIndex
        while end > path.index(after: path.startIndex), path[path.index(before: end)] == "/" { end = path.index(before: end) }
        return path.isEmpty ? "" : path[..<end]
    }

    /// The folder part: "" for a bare name, "/" for a name in the root folder.
    public static func folder(_ path: String) -> String {
        let trimmed = trimmed(path)
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        if slash == trimmed.startIndex { return "/" }
        var end = slash
        while end > trimmed.startIndex, trimmed[trimmed.index(before: end)] == "/" { end = trimmed.index(before: end) }
        return end == trimmed.startIndex ? "/" : String(trimmed[..<end])
    }

    /// The last component ("" for an empty path, "/" for the root).
    public static func name(_ path: String) -> String {
        let trimmed = trimmed(path)
        if trimmed == "/" { return "/" }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// `name` inside `folder`.
    public static func join(_ folder: String, _ name: String) -> String {
        folder.isEmpty ? name : folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }
}
