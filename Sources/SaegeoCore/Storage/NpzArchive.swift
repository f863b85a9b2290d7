import Foundation

/// A NumPy `.npz` archive: a zip file whose members are `.npy` arrays. Read from its central
/// directory with ZIP64 support (numpy always writes ZIP64 extra fields), validated before use.
/// Stored members are used in place in the mapped file (their CRC-32 checked on first use);
/// deflated members are inflated as a stream to a temporary file only when their data is needed
/// (their headers come from a small prefix). This is also the zip reader of PyTorch checkpoints
/// (see `Kind`): every member either format reads goes through `Member.verifiedRange()` or the
/// inflation, so none is used without its CRC-32 checked.
public struct NpzArchive: Sendable {
    public let file: MappedFile
    public let members: [Member]
    /// Each member's position in `members`, by name (lookups in constant time, for 150,000 members).
    private let index: [String: Int]

    public final class Member: Sendable {
        public let name: String          // without ".npy"
        let method: Int                  // 0 stored, 8 deflated
        let dataRange: Range<Int>        // compressed bytes, absolute in the archive
        let uncompressedSize: Int
        let crc: UInt32
        let archive: MappedFile
        let kind: Kind
        /// What the first use found: the inflated file of a deflated member, or a stored member's
        /// actual CRC-32 (computed once). Held while a use is under way, so it happens once, however
        /// many tensors share the member (a PyTorch storage record holds several views).
        private let found = Locked<(inflatedFile: MappedFile?, storedCRC: UInt32?)>((nil, nil))

        init(name: String, method: Int, dataRange: Range<Int>, uncompressedSize: Int, crc: UInt32, archive: MappedFile, kind: Kind) {
            self.name = name
            self.method = method
            self.dataRange = dataRange
            self.uncompressedSize = uncompressedSize
            self.crc = crc
            self.archive = archive
            self.kind = kind
        }

        var label: String { "\(archive.path) member \(printable(name, limit: 200))\(kind.stripsNpySuffix ? ".npy" : "")" }

        /// The member's .npy header, reading (or inflating) only its first bytes.
        func header() throws -> NpyHeader {
            if method == 0 {
                return try NpyHeader(prefix: UnsafeRawBufferPointer(rebasing: archive.bytes[dataRange]), name: label)
            }
            var prefix = try inflatedPrefix(4096)
            // A header longer than the first 4 KiB (numpy allows up to 1 MiB): inflate that much.
            if prefix.count >= 12, prefix[0] == 0x93, prefix[6] <= 3 {
                let (start, length) = prefix[6] == 1
                    ? (10, Int(prefix[8]) | Int(prefix[9]) << 8)
                    : (12, (0..<4).reduce(0) { $0 | Int(prefix[8 + $1]) << (8 * $1) })
                if start + length > prefix.count, start + length <= 4 * NpyHeader.maxCharacters + 12 {
                    prefix = try inflatedPrefix(start + length)
                }
            }
            return try prefix.withUnsafeBytes { try NpyHeader(prefix: $0, name: label) }
        }

        private func inflatedPrefix(_ count: Int) throws -> [UInt8] {
            var prefix: [UInt8] = []
            try Inflater(name: label).inflate(UnsafeRawBufferPointer(rebasing: archive.bytes[dataRange]),
                                              limit: count, beyond: .stop) { piece in
                prefix.append(contentsOf: piece)
                return prefix.count < count
            }
            return prefix
        }

        func tensor() throws -> StoredTensor {
            let header = try header()
            guard let elements = checkedProduct(header.shape), let bytes = checkedProduct([elements, header.elementSize]),
                  bytes <= uncompressedSize - min(header.dataOffset, uncompressedSize),
                  header.dataOffset <= uncompressedSize else {
                throw SaegeoError.badFile("\(label): shape \(header.shape) of \(header.dtype) needs more bytes than the member's \(uncompressedSize); the archive is corrupt")
            }
            return StoredTensor(name: name, dtype: header.dtype, shape: header.shape, storage: .npzMember(self),
                                columnMajor: header.fortranOrder)
        }

        /// The file holding the member's array data, and where that data starts. A stored member
        /// is used in place in the archive once its CRC-32 has been checked (on first use, not by
        /// `header()`, so inspecting stays cheap); a deflated one is inflated (once) into a
        /// temporary file in `temporaryFolder` (default: TMPDIR, else /tmp).
        func data(temporaryFolder: String? = nil) throws -> (MappedFile, Int) {
            let header = try self.header()
            if method == 0 { return (archive, try verifiedRange().lowerBound + header.dataOffset) }
            return try found.withLock { found in
                if let inflatedFile = found.inflatedFile { return (inflatedFile, header.dataOffset) }
                let folder = temporaryFolder ?? ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
                let mapped = try inflate(in: folder)
                found.inflatedFile = mapped
                return (mapped, header.dataOffset)
            }
        }

        /// A stored member's bytes in the archive (absolute), after comparing them with the CRC-32
        /// the archive records: the only way to a stored member's bytes, for .npz and .pt alike.
        /// Checked once (the result is kept), on every core, so a multi-gigabyte member is read
        /// for it only the first time; its pages are let go piece by piece, so the check does not
        /// leave the member resident.
        func verifiedRange() throws -> Range<Int> {
            guard method == 0 else {
                throw SaegeoError.badFile("\(label) is compressed where saegeo reads it in place; \(kind.methodHint)")
            }
            let actual = found.withLock { found in
                let start = dataRange.lowerBound, archive = archive
                let computed = found.storedCRC ?? Inflater.crc(of: UnsafeRawBufferPointer(rebasing: archive.bytes[dataRange])) { piece in
                    archive.release(byteRange: (start + piece.lowerBound)..<(start + piece.upperBound))
                }
                found.storedCRC = computed
                return computed
            }
            guard actual == crc else {
                throw SaegeoError.badFile("\(label): stored bytes have CRC-32 \(String(actual, radix: 16)) but the archive records \(String(crc, radix: 16)); the archive is corrupt, \(kind.resaveHint)")
            }
            return dataRange
        }

        /// Inflates the whole member into a temporary file that is unlinked as soon as it is
        /// created: it lives on only through the open descriptor (written, then mapped), so
        /// nothing is left behind however the process ends, killed mid-inflation included. The
        /// stream is cut off as soon as it passes the declared size, so a decompression bomb
        /// writes at most that many bytes.
        private func inflate(in folder: String) throws -> MappedFile {
            var space = statvfs()
            if statvfs(folder, &space) == 0, Int(space.f_bavail) * Int(space.f_frsize) < uncompressedSize {
                throw SaegeoError.io("\(label) inflates to \(uncompressedSize) bytes, more than the free space in \(folder); set TMPDIR to a larger disk")
            }
            // An unnamed file where the file system allows (it never has a name, so nothing can be
            // left behind); else a named one, unlinked at once.
            var fd = ProcessGuard.openUnnamed(in: folder, mode: 0o600, readable: true)
            if fd < 0 {
                var template = Array((folder + "/saegeo-inflate-XXXXXX").utf8CString)
                fd = mkstemp(&template)
                guard fd >= 0 else {
                    throw SaegeoError.io("cannot create a temporary file in \(folder) to inflate \(label) (\(String(cString: strerror(errno)))); set TMPDIR to a writable folder", errno: errno)
                }
                unlink(template)
            }
            var owned = true
            defer { if owned { close(fd) } }
            let result = try Inflater(name: label).inflate(UnsafeRawBufferPointer(rebasing: archive.bytes[dataRange]),
                                                           limit: uncompressedSize, beyond: .refuse) { piece in
                try ProcessGuard.cancellation.check()
                var done = 0
                while done < piece.count {
                    let n = write(fd, piece.baseAddress! + done, piece.count - done)
                    if n < 0, errno == EINTR { continue }
                    guard n > 0 else {
                        throw SaegeoError.io("cannot write the inflated \(label) to \(folder) (\(String(cString: strerror(errno)))); set TMPDIR to a larger, writable disk", errno: errno)
                    }
                    done += n
                }
                return true
            }
            guard result.size == uncompressedSize, result.crc == crc else {
                throw SaegeoError.badFile("\(label) inflates to \(result.size) bytes with CRC \(String(result.crc, radix: 16)), but the archive promises \(uncompressedSize) bytes with CRC \(String(crc, radix: 16)); the archive is corrupt")
            }
            owned = false
            return try MappedFile(descriptor: fd, path: "\(label) (inflated)")
        }
    }

    public init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    /// Which kind of zip archive is being read, for names and messages: an .npz (members named
    /// without their ".npy") or another zip, such as a PyTorch checkpoint (names kept whole).
    struct Kind: Sendable {
        let what: String            // "zip (.npz) archive"
        let saveHint: String        // "save it with numpy.savez"
        let plainOnly: String       // "saegeo reads plain numpy archives only"
        let methodHint: String      // "re-save with numpy.savez or numpy.savez_compressed"
        let stripsNpySuffix: Bool
        var resaveHint: String { "re-" + saveHint }
        static let npz = Kind(what: "zip (.npz) archive", saveHint: "save it with numpy.savez",
                              plainOnly: "saegeo reads plain numpy archives only",
                              methodHint: "re-save with numpy.savez or numpy.savez_compressed", stripsNpySuffix: true)
    }

    public init(file: MappedFile) throws {
        try self.init(file: file, kind: .npz)
    }

    init(file: MappedFile, kind: Kind) throws {
        self.file = file
        let path = file.path
        let r = LittleEndianReader(bytes: file.bytes, path: path)
        // End of central directory: 22 bytes plus a comment of up to 65535, at the end.
        guard file.size >= 22 else {
            throw SaegeoError.badFile("\(path): \(file.size) bytes is too small for a \(kind.what)")
        }
        var eocd = -1
        var position = file.size - 22
        while position >= max(0, file.size - 22 - 65535) {
            if try r.u32(position, "end of central directory") == 0x0605_4B50 { eocd = position; break }
            position -= 1
        }
        guard eocd >= 0 else {
            throw SaegeoError.badFile("\(path) is not a \(kind.what): no end-of-central-directory record; \(kind.saveHint)")
        }
        var entryCount = try r.u16(eocd + 10, "entry count")
        var directorySize = try r.u32(eocd + 12, "central directory size")
        var directoryOffset = try r.u32(eocd + 16, "central directory offset")
        if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // ZIP64: a locator just before the record points at the ZIP64 end of central directory.
            let locator = eocd - 20
            guard locator >= 0, try r.u32(locator, "ZIP64 locator") == 0x0706_4B50 else {
                throw SaegeoError.badFile("\(path): zip sizes need ZIP64 but its locator is missing; the archive is corrupt")
            }
            let record = try r.u64(locator + 8, "ZIP64 record offset")
            guard try r.u32(record, "ZIP64 end of central directory") == 0x0606_4B50 else {
                throw SaegeoError.badFile("\(path): no ZIP64 end-of-central-directory record at byte \(record); the archive is corrupt")
            }
            entryCount = try r.u64(record + 32, "ZIP64 entry count")
            directorySize = try r.u64(record + 40, "ZIP64 central directory size")
            directoryOffset = try r.u64(record + 48, "ZIP64 central directory offset")
        }
        _ = try r.range(directoryOffset, directorySize, "central directory")
        guard entryCount <= directorySize / 46 else {
            throw SaegeoError.badFile("\(path): \(entryCount) entries cannot fit a central directory of \(directorySize) bytes; the archive is corrupt")
        }

        var members: [Member] = []
        var index: [String: Int] = [:]
        var cursor = directoryOffset
        for _ in 0..<entryCount {
            guard try r.u32(cursor, "central directory entry") == 0x0201_4B50 else {
                throw SaegeoError.badFile("\(path): bad central directory entry at byte \(cursor); the archive is corrupt")
            }
            let flags = try r.u16(cursor + 8, "flags")
            let method = try r.u16(cursor + 10, "compression method")
            let crc = UInt32(try r.u32(cursor + 16, "CRC-32"))
            var compressed = try r.u32(cursor + 20, "compressed size")
            var uncompressed = try r.u32(cursor + 24, "uncompressed size")
            let nameLength = try r.u16(cursor + 28, "name length")
            let extraLength = try r.u16(cursor + 30, "extra length")
            let commentLength = try r.u16(cursor + 32, "comment length")
            var localOffset = try r.u32(cursor + 42, "local header offset")
            let nameRange = try r.range(cursor + 46, nameLength, "member name")
            let name = String(decoding: file.bytes[nameRange], as: UTF8.self)
            let shown = printable(name, limit: 200)   // a hostile name may hold newlines
            // ZIP64 extra field: the 64-bit values, in this order, for the fields set to 0xFFFFFFFF.
            var extra = try r.range(nameRange.upperBound, extraLength, "extra fields of \(shown)").lowerBound
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = try r.u16(extra, "extra field id"), size = try r.u16(extra + 2, "extra field size")
                guard extra + 4 + size <= extraEnd else {
                    throw SaegeoError.badFile("\(path): extra field of \(shown) runs past its entry; the archive is corrupt")
                }
                if id == 0x0001 {
                    var field = extra + 4
                    func next() throws -> Int {
                        guard field + 8 <= extra + 4 + size else {
                            throw SaegeoError.badFile("\(path): ZIP64 field of \(shown) is too short; the archive is corrupt")
                        }
                        defer { field += 8 }
                        return try r.u64(field, "ZIP64 value of \(shown)")
                    }
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try next() }
                    if compressed == 0xFFFF_FFFF { compressed = try next() }
                    if localOffset == 0xFFFF_FFFF { localOffset = try next() }
                }
                extra += 4 + size
            }
            cursor = extraEnd + commentLength
            guard cursor <= directoryOffset + directorySize else {
                throw SaegeoError.badFile("\(path): central directory entry \(shown) runs past the directory; the archive is corrupt")
            }
            if name.hasSuffix("/") { continue }
            guard flags & 1 == 0 else {
                throw SaegeoError.badFile("\(path): member \(shown) is encrypted; \(kind.plainOnly)")
            }
            guard method == 0 || method == 8 else {
                throw SaegeoError.badFile("\(path): member \(shown) uses compression method \(method); \(kind.methodHint)")
            }
            guard method != 0 || compressed == uncompressed else {
                throw SaegeoError.badFile("\(path): stored member \(shown) claims \(compressed) bytes stored but \(uncompressed) uncompressed; the archive is corrupt")
            }
            guard try r.u32(localOffset, "local header of \(shown)") == 0x0403_4B50 else {
                throw SaegeoError.badFile("\(path): no local header for \(shown) at byte \(localOffset); the archive is corrupt")
            }
            let dataStart = localOffset + 30 + (try r.u16(localOffset + 26, "local name length"))
                + (try r.u16(localOffset + 28, "local extra length"))
            let data = try r.range(dataStart, compressed, "data of member \(shown)")
            let key = kind.stripsNpySuffix && name.hasSuffix(".npy") ? String(name.dropLast(4)) : name
            guard index.updateValue(members.count, forKey: key) == nil else {
                throw SaegeoError.badFile("\(path): member \(shown) appears twice; the archive is corrupt")
            }
            members.append(Member(name: key, method: method, dataRange: data, uncompressedSize: uncompressed,
                                  crc: crc, archive: file, kind: kind))
        }
        self.members = members
        self.index = index
    }

    public func member(_ name: String) -> Member? { index[name].map { members[$0] } }
}
