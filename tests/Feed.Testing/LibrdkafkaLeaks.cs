using MarketStream.Ingest.Embedded;
using Xunit;
using Xunit.Abstractions;

namespace MarketStream.Testing;

/// <summary>
/// The teardown check of a test assembly that uses Kafka: once its other tests are over, librdkafka must run no
/// thread at all, which it does only when every consumer, producer, admin client and mock cluster has been
/// destroyed. A test (or a gateway) that leaves a handle undisposed keeps its threads, and this fails.
/// </summary>
public static class LibrdkafkaLeaks
{
    /// <summary>The collection the check runs in: not in parallel with anything, and last (<see cref="TeardownLast"/>).</summary>
    public const string Collection = "librdkafka teardown";

    /// <summary>Waits for librdkafka's thread count to reach zero (destroying a handle joins its threads, a little later for some).</summary>
    public static Task AssertNoneLeftAsync() => Eventually.Holds(
        () => EmbeddedKafkaCluster.LibrdkafkaThreadCount() == 0,
        () => $"librdkafka to stop its last threads: {EmbeddedKafkaCluster.LibrdkafkaThreadCount()} still run after every other test ended, so some client handle or mock cluster was never disposed",
        TimeSpan.FromSeconds(30));
}

/// <summary>
/// Orders a test assembly's collections so that the teardown collection comes last. xunit runs the collections
/// that allow parallelism first and the others one after another in this order, so the teardown check runs when
/// every other test has finished.
/// </summary>
public sealed class TeardownLast : ITestCollectionOrderer
{
    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections.OrderBy(c => c.DisplayName == LibrdkafkaLeaks.Collection ? 1 : 0).ThenBy(c => c.DisplayName, StringComparer.Ordinal);
}

/// <summary>
/// The teardown check as a test: a test assembly derives one class from this, puts it in the
/// <see cref="LibrdkafkaLeaks.Collection"/> collection (defined there with parallelism off) and orders its
/// collections with <see cref="TeardownLast"/>.
/// </summary>
public abstract class LibrdkafkaTeardown
{
    [Fact]
    public Task No_librdkafka_handle_outlives_the_other_tests() => LibrdkafkaLeaks.AssertNoneLeftAsync();
}
