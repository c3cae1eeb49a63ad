using MarketStream.Testing;

[assembly: TestCollectionOrderer("MarketStream.Testing.TeardownLast", "Feed.Testing")]

namespace MarketStream.Deployment.Tests;

/// <summary>Runs last: no librdkafka handle of this assembly's tests outlives them (see <see cref="LibrdkafkaLeaks"/>).</summary>
[Collection(LibrdkafkaLeaks.Collection)]
public sealed class LibrdkafkaTeardownTests : LibrdkafkaTeardown;

[CollectionDefinition(LibrdkafkaLeaks.Collection, DisableParallelization = true)]
public sealed class LibrdkafkaTeardownCollection;
