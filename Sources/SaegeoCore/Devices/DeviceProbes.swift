/// The microbenchmarks `saegeo bench` runs on one device, supplied by its backend: each runs for
/// about the time the backend was given (sized from a first short run), best of several runs.
public protocol DeviceProbes {
    /// fp32 peak in GFLOP/s, and what reached it (a vector width, an instruction set).
    func peakGFLOPS() throws -> (gflops: Double, kernel: String)
    /// Whether the device has a host-to-device transfer to measure (a separate memory).
    var measuresTransfer: Bool { get }
    /// Memory bandwidth, bytes read plus written per second, in GB/s.
    func bandwidthGBs() throws -> Double
    /// Host-to-device transfer in GB/s; asked only when `measuresTransfer`.
    func transferGBs() throws -> Double
    /// The similarity product as the device's engine computes it, rows x columns x `dimension`, GFLOP/s.
    func similarityGFLOPS(dimension: Int) throws -> Double
    /// Candidates (similarity entries) the engine's top-k selection takes per second, for `k`.
    func topkCandidatesPerSecond(k: Int) throws -> Double
}

/// The kernel search of `saegeo tune` on one device, supplied by its backend: it tries the
/// configurations that fit, keeps the fastest correct one where later runs find it, and reports.
public protocol DeviceTuner {
    /// Searches, stores the best, and returns what was tried; `log` hears each trial. Throws when
    /// no configuration worked (the defaults stay).
    func run(log: (String) -> Void) throws -> TuningReport
}

/// What a tuner found, as `saegeo tune` prints it.
public struct TuningReport: Sendable {
    public struct Ranked: Sendable {
        public let configuration: String
        public let gflops: Double
        public let isDefault: Bool

        public init(configuration: String, gflops: Double, isDefault: Bool) {
            self.configuration = configuration
            self.gflops = gflops
            self.isDefault = isDefault
        }
    }

    /// The configurations that worked, fastest first.
    public let ranked: [Ranked]
    /// How many configurations were tried, those rejected included.
    public let tried: Int
    public let defaultConfiguration: String
    /// The default's speed (0 when it failed).
    public let defaultGflops: Double
    /// Where the best configuration was stored.
    public let storedIn: String

    public init(ranked: [Ranked], tried: Int, defaultConfiguration: String, defaultGflops: Double, storedIn: String) {
        self.ranked = ranked
        self.tried = tried
        self.defaultConfiguration = defaultConfiguration
        self.defaultGflops = defaultGflops
        self.storedIn = storedIn
    }
}
