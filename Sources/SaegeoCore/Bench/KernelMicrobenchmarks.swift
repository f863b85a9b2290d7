/// Prepared single steps of the kernels and the selection, for micro-benchmark harnesses
/// (Benchmarks/Micro, package-benchmark): inputs are generated and placed once, `run()` does one
/// step and waits for it. Each backend keeps its own steps in its folder; these are their names.
public enum KernelMicrobenchmarks {
    /// The OpenCL similarity kernel on resident random tiles (OpenCL/OpenCLMicrobenchmarks.swift).
    public typealias Similarity = OpenCLSimilarityBenchmark
    /// The OpenCL top-k merge (OpenCL/OpenCLMicrobenchmarks.swift).
    public typealias TopKMerge = OpenCLTopKMergeBenchmark
    /// The CPU engine's candidate selection (CPU/CPUMicrobenchmarks.swift).
    public typealias CandidateSelection = CandidateSelectionBenchmark
    /// OpenBLAS sgemm of the similarity product (CPU/CPUMicrobenchmarks.swift).
    public typealias Sgemm = SgemmBenchmark
}
