// Compiled into every test assembly that uses Kafka (each project links this file): xunit finds collection
// definitions and tests only in the test assembly itself.
using MarketStream.Testing;

[assembly: TestCollectionOrderer("MarketStream.Testing.TeardownLast", "Feed.Testing")]

namespace MarketStream.Testing.Linked;

/// <summary>Runs last: no librdkafka handle of this assembly's tests outlives them (see <see cref="LibrdkafkaLeaks"/>).</summary>
[Collection(LibrdkafkaLeaks.Collection)]
public sealed class LibrdkafkaTeardownTests : LibrdkafkaTeardown;

[CollectionDefinition(LibrdkafkaLeaks.Collection, DisableParallelization = true)]
public sealed class LibrdkafkaTeardownCollection;
