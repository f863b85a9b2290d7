import Foundation

/// What `saegeo bench` measured, as written to its JSON file (snake_case keys) so that runs from
/// different nodes can be compared (`saegeo bench compare`).
public struct BenchReport: Codable, Sendable {
    public static let currentVersion = 1

    public var version: Int
    public var saegeoVersion: String
    public var createdAt: String
    /// The time each device was given (seconds).
    public var budgetSeconds: Double
    public var host: Host
    public var devices: [DeviceFigures]

    public init(version: Int, saegeoVersion: String, createdAt: String, budgetSeconds: Double, host: Host, devices: [DeviceFigures]) {
        self.version = version
        self.saegeoVersion = saegeoVersion
        self.createdAt = createdAt
        self.budgetSeconds = budgetSeconds
        self.host = host
        self.devices = devices
    }

    public struct Host: Codable, Sendable {
        public var hostname: String
        public var cpu: String
        public var cores: Int
        public var memoryBytes: Int
        public var os: String
    }

    public struct DeviceFigures: Codable, Sendable {
        public var id: String
        public var name: String
        public var vendor: String
        public var type: String
        public var driverVersion: String
        public var computeUnits: Int
        public var globalMemoryBytes: Int
        /// The kernels or library the figures were measured with (a tuned configuration says so).
        public var kernels: String
        public var peakGflops: Double
        /// Which microkernel reached the peak (a vector width, or the CPU's instruction set).
        public var peakKernel: String
        /// Bytes read plus written per second by a streaming copy.
        public var bandwidthGbs: Double
        /// Host-to-device copies (OpenCL devices only).
        public var transferGbs: Double?
        /// The similarity kernel alone, by d_model ("2304", "3584", "4608").
        public var similarityGflops: [String: Double]
        public var similarityPercentOfPeak: [String: Double]
        /// Top-k selection, similarity entries offered per second, by k ("1", "32", "256").
        public var topkCandidatesPerS: [String: Double]
        public var workloads: [Workload]
    }

    public struct Workload: Codable, Sendable {
        public var name: String
        /// The shape that ran (scaled down to the time budget).
        public var shape: String
        public var rows: Int
        public var seconds: Double
        public var rowsPerS: Double
        public var gflops: Double
        /// The full-size job it projects to, and how long that would take on this device.
        public var fullSize: String
        public var projectedSeconds: Double
    }

    public static func read(_ path: String) throws -> BenchReport {
        let data = try InputFile.contents(path, what: "bench report", limit: 64 << 20)
        // JSONCoding names the field that is missing or of the wrong type, in saegeo's words.
        return try JSONCoding.decode(BenchReport.self, from: data, path: path, what: "a 'saegeo bench --json' file", snakeCase: true)
    }
}
