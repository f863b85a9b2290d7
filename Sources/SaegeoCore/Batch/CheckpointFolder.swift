import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A shard's checkpoint folder (`OUT.checkpoint/`) is saegeo's own: saegeo creates it, with a
/// marker file naming it as a saegeo checkpoint, and cleaning up removes only the files saegeo
/// wrote there (the marker and `block-NNNNNNNNNNNN.safetensors`), then the folder if it is empty.
/// A folder at that path without the marker (a user's folder, an SAE checkpoint folder), a
/// symbolic link, or a block name that is not a regular file is refused before any work, so
/// nothing of the user's is ever removed and no computation ends unable to save.
enum CheckpointFolder {
    static let markerName = ".saegeo-checkpoint"
    static let markerText = "a saegeo shard checkpoint: blocks of finished work, removed when the shard's output is written\n"

    /// Whether `name` is a block file's name as `ShardCheckpoint.path(ofBlockAt:)` writes it.
    static func isBlockName(_ name: String) -> Bool {
        let digits = name.dropFirst("block-".count).dropLast(".safetensors".count)
        return name.hasPrefix("block-") && name.hasSuffix(".safetensors") && digits.count == 12
            && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// Fails unless `directory` is absent, or a real folder saegeo made, writable, whose block
    /// names are regular files.
    static func check(_ directory: String) throws {
        var info = stat()
        guard lstat(directory, &info) == 0 else {
            guard errno == ENOENT else { throw SaegeoError.io("cannot use checkpoint folder \(directory): \(systemError())") }
            return
        }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: break
        case S_IFLNK:
            throw SaegeoError.badInput("checkpoint folder \(directory) is a symbolic link; saegeo keeps a shard's checkpoint in a folder it makes itself: remove the link (its target is left alone)")
        default:
            throw SaegeoError.badInput("\(directory) is \(InputFile.kind(info.st_mode)) in the way of this shard's checkpoint folder; move it away")
        }
        var marker = stat()
        guard lstat(PathName.join(directory, markerName), &marker) == 0, (marker.st_mode & S_IFMT) == S_IFREG else {
            throw SaegeoError.badInput("\(directory) exists and is not a checkpoint saegeo made (it has no \(markerName)); saegeo keeps a shard's checkpoint there: move that folder away or write the output elsewhere")
        }
        guard access(directory, W_OK) == 0 else {
            throw SaegeoError.io("checkpoint folder \(directory) is not writable; fix its permissions")
        }
        for name in try names(in: directory) where isBlockName(name) {
            var block = stat()
            let path = PathName.join(directory, name)
            guard lstat(path, &block) == 0 else { continue }
            guard (block.st_mode & S_IFMT) == S_IFREG else {
                throw SaegeoError.badInput("checkpoint block \(path) is \(InputFile.kind(block.st_mode)), not a block saegeo wrote; remove it")
            }
        }
    }

    /// Makes the folder with its marker, unless it is there already.
    static func create(_ directory: String, job: String) throws {
        var info = stat()
        if lstat(directory, &info) == 0 {
            try check(directory)
            return
        }
        guard mkdir(directory, 0o777) == 0 || errno == EEXIST else {
            throw SaegeoError.io("cannot create checkpoint folder \(directory): \(systemError())", errno: errno)
        }
        try AtomicOutput.write(to: PathName.join(directory, markerName)) { try $0.write(markerText) }
    }

    /// Removes the block files (regular files only) and, unless `keepingFolder`, the marker and
    /// then the folder if it is empty.
    static func removeOwnFiles(_ directory: String, keepingFolder: Bool = false) throws {
        var info = stat()
        guard lstat(directory, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw SaegeoError.io("cannot remove the checkpoint \(directory): it is \(InputFile.kind(info.st_mode)), not saegeo's folder")
        }
        for name in try names(in: directory) where isBlockName(name) || (name == markerName && !keepingFolder) {
            let path = PathName.join(directory, name)
            var file = stat()
            guard lstat(path, &file) == 0, (file.st_mode & S_IFMT) == S_IFREG else { continue }
            guard unlink(path) == 0 || errno == ENOENT else {
                throw SaegeoError.io("cannot remove the checkpoint block \(path): \(systemError())", errno: errno)
            }
        }
        // A folder that still holds someone else's files stays, with them.
        if !keepingFolder { _ = rmdir(directory) }
    }

    private static func names(in directory: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw SaegeoError.io("cannot list checkpoint folder \(directory); check its permissions")
        }
    }
}
