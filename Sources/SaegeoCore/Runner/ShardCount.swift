/// What a planner needs to know about splitting a job into N shards, without running one.
public enum ShardCount {
    /// Refuses a shard count below 1 with the line `--shard` gives.
    public static func check(_ count: Int) throws {
        _ = try ShardSpec(index: 0, count: count)
    }

    /// The most items one of `count` shards gets: ShardSpec's ranges differ by at most one and
    /// add up to `items`, so the largest holds ceil(items / count).
    public static func largestShare(of items: Int, shards count: Int) -> Int {
        items / count + (items % count == 0 ? 0 : 1)
    }
}
