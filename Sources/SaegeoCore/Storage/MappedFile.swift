import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A read-only memory map of a whole file. Opening a multi-gigabyte checkpoint costs nothing
/// until pages are touched; the kernel pages them in and out as needed.
public final class MappedFile: @unchecked Sendable {  // because the mapping (a C handle) is read-only; its guard slot changes only in init and deinit
    public let path: String
    public let size: Int
    public let bytes: UnsafeRawBufferPointer
    /// True when `bytes` is a private heap copy (see `init(copying:)`), not a mapping.
    private let ownsHeapCopy: Bool
    /// True when `bytes` is the caller's memory (see `init(borrowing:)`): neither freed nor unmapped.
    private var borrowsMemory = false
    /// The open file, for reading large ranges without mapping them (-1 for a heap copy).
    private let descriptor: Int32
    /// This mapping's record in ProcessGuard (-1: none).
    private var guardSlot: Int32 = -1

    public convenience init(path: String) throws {
        // A regular file only: a FIFO would block the job forever (InputFile checks it safely).
        try self.init(descriptor: InputFile.open(path, what: "input"), path: path)
    }

    /// Maps a file already open for reading, taking ownership of `fd` (closed on failure too).
    /// For a file that has no name any more (an unlinked temporary file); `path` names it in
    /// messages.
    public init(descriptor fd: Int32, path: String) throws {
        self.path = path
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw SaegeoError.io("cannot stat \(path): \(String(cString: strerror(errno)))", errno: errno)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw SaegeoError.io("\(path) is not a regular file; pass the file itself")
        }
        descriptor = fd
        size = Int(info.st_size)
        ownsHeapCopy = false
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else {
            close(fd)
            throw SaegeoError.io("cannot map \(path) into memory: \(String(cString: strerror(errno)))", errno: errno)
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
        // A page of a file that shrinks under the map faults (SIGBUS): the guard names the file.
        guardSlot = ProcessGuard.rememberMapping(address, size: size, path: path)
    }

    /// Bytes held in memory, for parsing data that is not in a file (the fuzz targets).
    public init(copying data: UnsafeRawBufferPointer, path: String) {
        self.path = path
        size = data.count
        ownsHeapCopy = true
        descriptor = -1
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 64)
        if size > 0 { copy.copyMemory(from: data) }
        bytes = UnsafeRawBufferPointer(start: copy.baseAddress, count: size)
    }

    /// The caller's bytes, read in place (an array a front end hands over for one call): the caller
    /// keeps them valid and unchanged while this object is alive, and frees them itself.
    public init(borrowing data: UnsafeRawBufferPointer, path: String) {
        self.path = path
        size = data.count
        ownsHeapCopy = false
        borrowsMemory = true
        descriptor = -1
        bytes = data
    }

    /// Copies `count` bytes at `offset` into `destination` with pread: the kernel copies from its
    /// page cache and nothing of the file stays resident in this process, unlike touching the map.
    public func read(into destination: UnsafeMutableRawPointer, count: Int, at offset: Int) -> Bool {
        guard descriptor >= 0, offset >= 0, count >= 0, offset + count <= size else { return false }
        var done = 0
        while done < count {
            let n = pread(descriptor, destination + done, count - done, off_t(offset + done))
            if n < 0, errno == EINTR { continue }
            // The end of the file before the size it had when opened: it was truncated under us.
            if n == 0 { ProcessGuard.inputVanished(path) }
            guard n > 0 else { return false }
            done += n
        }
        return true
    }

    /// Tells the kernel the pages of a byte range will not be needed soon, so a pass over a file
    /// larger than memory does not keep it resident.
    public func release(byteRange: Range<Int>) {
        guard !ownsHeapCopy, !borrowsMemory, let base = bytes.baseAddress, !byteRange.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (byteRange.lowerBound / page) * page
        let end = min(size, byteRange.upperBound)
        guard end > start else { return }
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_DONTNEED))
    }

    deinit {
        if guardSlot >= 0 { ProcessGuard.forgetMapping(guardSlot) }
        if descriptor >= 0 { close(descriptor) }
        guard let base = bytes.baseAddress, !borrowsMemory else { return }
        if ownsHeapCopy {
            base.deallocate()
        } else {
            munmap(UnsafeMutableRawPointer(mutating: base), size)
        }
    }
}
