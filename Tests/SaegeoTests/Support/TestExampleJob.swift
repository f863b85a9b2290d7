@testable import SaegeoCore

extension ExampleJob {
    /// A generated job (planted SAELens SAE, activations with offsets, toxic ids, dataset lines)
    /// in the test process's folder.
    static func inTestFolder(_ name: String, features: Int, dimension: Int, samples: Int, tokens: Int,
                             seed: UInt64) -> ExampleJob {
        var size = ExampleJob.Size()
        size.features = features
        size.dimension = dimension
        size.samples = samples
        size.tokens = tokens
        return try! ExampleJob.write(size, seed: seed, to: TestFiles.path(name))
    }
}
