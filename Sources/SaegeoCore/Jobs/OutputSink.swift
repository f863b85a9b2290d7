import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a job's producer writes one output: a staged temporary or a stream written in place.
/// Every write checks the process's cancellation flag first, so a signal stops even a job that
/// only copies (filter, merge).
public final class OutputSink {
    let descriptor: Int32
    let path: String
    private var buffer = Data()

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    public func write(contentsOf data: Data) throws {
        try ProcessGuard.cancellation.check()
        buffer.append(data)
        if buffer.count >= 1 << 20 { try flush() }
    }

    public func write(_ text: String) throws { try write(contentsOf: Data(text.utf8)) }

    func flush() throws {
        try buffer.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(descriptor, raw.baseAddress! + done, raw.count - done)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else {
                    throw SaegeoError.io("cannot write \(path): \(systemError())", errno: errno)
                }
                done += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
