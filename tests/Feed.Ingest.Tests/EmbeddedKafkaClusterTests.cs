using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using MarketStream.Ingest.Embedded;

namespace MarketStream.Ingest.Tests;

public sealed class EmbeddedKafkaClusterTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public void A_topic_created_with_three_partitions_is_visible_to_admin_client_metadata_with_three_partitions()
    {
        using var cluster = EmbeddedKafkaCluster.Start();
        var topic = NewTopicName();

        cluster.CreateTopic(topic, partitions: 3);

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        var metadata = admin.GetMetadata(topic, Timeout);
        var topicMetadata = Assert.Single(metadata.Topics);
        Assert.Equal(topic, topicMetadata.Topic);
        Assert.False(topicMetadata.Error.IsError, topicMetadata.Error.Reason);
        Assert.Equal([0, 1, 2], topicMetadata.Partitions.Select(p => p.PartitionId).Order());
    }

    [Fact]
    public void Bootstrap_servers_list_one_loopback_address_per_broker()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokers: 3);

        Assert.Equal(3, cluster.BrokerCount);
        var addresses = cluster.BootstrapServers.Split(',');
        Assert.Equal(3, addresses.Length);
        Assert.All(addresses, a => Assert.Matches(@"^(127\.0\.0\.1|localhost|\[::1\]):\d+$", a));
        Assert.Equal(3, addresses.Distinct().Count());
    }

    [Fact]
    public void The_replication_factor_is_capped_at_the_broker_count()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokers: 2);
        var topic = NewTopicName();

        cluster.CreateTopic(topic, partitions: 2, replicationFactor: 5);

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        var partitions = Assert.Single(admin.GetMetadata(topic, Timeout).Topics).Partitions;
        Assert.Equal(2, partitions.Count);
        Assert.All(partitions, p => Assert.Equal(2, p.Replicas.Length));
    }

    [Fact]
    public void Creating_an_existing_topic_throws_with_the_librdkafka_error_name()
    {
        using var cluster = EmbeddedKafkaCluster.Start();
        var topic = NewTopicName();
        cluster.CreateTopic(topic, partitions: 1);

        var ex = Assert.Throws<KafkaException>(() => cluster.CreateTopic(topic, partitions: 1));

        Assert.Equal(ErrorCode.TopicAlreadyExists, ex.Error.Code);
        Assert.Contains("TOPIC_ALREADY_EXISTS", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Records_produced_are_consumed_with_assign_in_order_per_partition_with_exact_bytes()
    {
        using var cluster = EmbeddedKafkaCluster.Start();
        var topic = NewTopicName();
        cluster.CreateTopic(topic, partitions: 3);
        var random = new Random(42);
        var sent = new List<(int Partition, string Key, byte[] Value)>();
        for (var i = 0; i < 150; i++)
        {
            var value = new byte[random.Next(1, 512)];
            random.NextBytes(value);
            sent.Add((i % 3, $"key-{i}", value));
        }

        using (var producer = new ProducerBuilder<string, byte[]>(ProducerConfig(cluster)).Build())
        {
            var deliveries = sent.Select(r => producer.ProduceAsync(
                new TopicPartition(topic, r.Partition), new Message<string, byte[]> { Key = r.Key, Value = r.Value }));
            var results = await Task.WhenAll(deliveries).WaitAsync(Timeout);
            Assert.All(results, r => Assert.Equal(PersistenceStatus.Persisted, r.Status));
        }

        var received = await ConsumeAsync(cluster, topic, partitions: 3, expected: sent.Count).WaitAsync(Timeout);

        for (var partition = 0; partition < 3; partition++)
        {
            var expected = sent.Where(r => r.Partition == partition).ToList();
            var actual = received.Where(r => r.Partition.Value == partition).ToList();
            Assert.Equal(expected.Count, actual.Count);
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.Equal(i, actual[i].Offset.Value);
                Assert.Equal(expected[i].Key, actual[i].Message.Key);
                Assert.Equal(expected[i].Value, actual[i].Message.Value);
            }
        }
    }

    [Fact]
    public async Task With_three_brokers_one_broker_down_then_up_producing_resumes_and_no_record_is_lost()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokers: 3);
        var topic = NewTopicName();
        cluster.CreateTopic(topic, partitions: 3, replicationFactor: 3);
        var leaders = PartitionLeaders(cluster, topic);
        var downBroker = leaders[0];
        var sent = new List<(int Partition, string Value)>();
        using var producer = new ProducerBuilder<string, byte[]>(ProducerConfig(cluster, idempotent: true)).Build();

        Task<DeliveryResult<string, byte[]>>[] ProduceRound(string round) =>
            Enumerable.Range(0, 30).Select(i =>
            {
                var partition = i % 3;
                var value = $"{round}-{partition}-{i}";
                sent.Add((partition, value));
                return producer.ProduceAsync(
                    new TopicPartition(topic, partition),
                    new Message<string, byte[]> { Key = value, Value = Encoding.UTF8.GetBytes(value) });
            }).ToArray();

        await Task.WhenAll(ProduceRound("before")).WaitAsync(Timeout);

        cluster.SetBrokerDown(downBroker);
        var whileDown = ProduceRound("down");
        var healthy = whileDown.Where((_, i) => leaders[i % 3] != downBroker).ToArray();
        var stalled = whileDown.Where((_, i) => leaders[i % 3] == downBroker).ToArray();

        // Partitions led by the other brokers keep working while one broker is down...
        await Task.WhenAll(healthy).WaitAsync(Timeout);
        // ...and the down broker's partitions wait for it (leadership does not move).
        Assert.NotEmpty(stalled);
        Assert.All(stalled, t => Assert.False(t.IsCompleted));

        cluster.SetBrokerUp(downBroker);
        var resumed = await Task.WhenAll(whileDown).WaitAsync(Timeout);
        Assert.All(resumed, r => Assert.Equal(PersistenceStatus.Persisted, r.Status));
        await Task.WhenAll(ProduceRound("after")).WaitAsync(Timeout);

        var received = await ConsumeAsync(cluster, topic, partitions: 3, expected: sent.Count).WaitAsync(Timeout);
        Assert.Equal(sent.Count, received.Count);
        for (var partition = 0; partition < 3; partition++)
        {
            Assert.Equal(
                sent.Where(r => r.Partition == partition).Select(r => r.Value),
                received.Where(r => r.Partition.Value == partition).Select(r => Encoding.UTF8.GetString(r.Message.Value)));
        }
    }

    [Fact]
    public async Task With_the_only_broker_down_an_awaited_produce_completes_after_it_comes_back()
    {
        using var cluster = EmbeddedKafkaCluster.Start();
        var topic = NewTopicName();
        cluster.CreateTopic(topic, partitions: 1);
        using var producer = new ProducerBuilder<string, byte[]>(ProducerConfig(cluster)).Build();
        var first = await producer.ProduceAsync(topic, Message("first")).WaitAsync(Timeout);
        Assert.Equal(0, first.Offset.Value);

        cluster.SetBrokerDown(1);
        var pending = producer.ProduceAsync(topic, Message("while down"));
        await Eventually.Throughout(() => !pending.IsCompleted, "the produce waiting while its broker is down", TimeSpan.FromSeconds(3));
        cluster.SetBrokerUp(1);

        var delivered = await pending.WaitAsync(Timeout);
        Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
        Assert.Equal(1, delivered.Offset.Value);
    }

    [Fact]
    public async Task With_all_brokers_down_a_produce_waits_until_they_are_all_up_again()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokers: 2);
        var topic = NewTopicName();
        cluster.CreateTopic(topic, partitions: 2, replicationFactor: 2);
        using var producer = new ProducerBuilder<string, byte[]>(ProducerConfig(cluster)).Build();
        await producer.ProduceAsync(new TopicPartition(topic, 0), Message("warm-up")).WaitAsync(Timeout);
        await producer.ProduceAsync(new TopicPartition(topic, 1), Message("warm-up")).WaitAsync(Timeout);

        cluster.SetAllBrokersDown();
        var pending = new[]
        {
            producer.ProduceAsync(new TopicPartition(topic, 0), Message("while down")),
            producer.ProduceAsync(new TopicPartition(topic, 1), Message("while down")),
        };
        await Eventually.Throughout(() => pending.All(t => !t.IsCompleted), "both produces waiting while every broker is down", TimeSpan.FromSeconds(1));
        cluster.SetAllBrokersUp();

        var delivered = await Task.WhenAll(pending).WaitAsync(Timeout);
        Assert.All(delivered, d => Assert.Equal(1, d.Offset.Value));
    }

    [Fact]
    public async Task Pushed_produce_errors_fail_the_next_produce_requests_in_order()
    {
        using var cluster = EmbeddedKafkaCluster.Start();
        var topic = NewTopicName();
        cluster.CreateTopic(topic, partitions: 1);
        using var producer = new ProducerBuilder<string, byte[]>(ProducerConfig(cluster)).Build();
        await producer.ProduceAsync(topic, Message("warm-up")).WaitAsync(Timeout);

        // Non-retriable errors, so each fails exactly one produce request (one record each).
        // Not TopicAuthorizationFailed: after it the producer also failed the next record.
        cluster.PushRequestErrors(EmbeddedKafkaCluster.ProduceApiKey, ErrorCode.MsgSizeTooLarge, ErrorCode.InvalidRecord);

        var first = await Assert.ThrowsAsync<ProduceException<string, byte[]>>(
            () => producer.ProduceAsync(topic, Message("one")).WaitAsync(Timeout));
        var second = await Assert.ThrowsAsync<ProduceException<string, byte[]>>(
            () => producer.ProduceAsync(topic, Message("two")).WaitAsync(Timeout));
        var third = await producer.ProduceAsync(topic, Message("three")).WaitAsync(Timeout);

        Assert.Equal(ErrorCode.MsgSizeTooLarge, first.Error.Code);
        Assert.Equal(ErrorCode.InvalidRecord, second.Error.Code);
        Assert.Equal(PersistenceStatus.Persisted, third.Status);
    }

    [Fact]
    public async Task A_broker_round_trip_time_delays_its_responses()
    {
        using var cluster = EmbeddedKafkaCluster.Start();
        var topic = NewTopicName();
        cluster.CreateTopic(topic, partitions: 1);
        using var producer = new ProducerBuilder<string, byte[]>(ProducerConfig(cluster)).Build();
        await producer.ProduceAsync(topic, Message("warm-up")).WaitAsync(Timeout);

        cluster.SetBrokerRtt(1, TimeSpan.FromMilliseconds(400));
        var stopwatch = Stopwatch.StartNew();
        await producer.ProduceAsync(topic, Message("slow")).WaitAsync(Timeout);
        var slow = stopwatch.Elapsed;
        cluster.SetBrokerRtt(1, TimeSpan.Zero);

        Assert.True(slow >= TimeSpan.FromMilliseconds(350), $"produce took {slow.TotalMilliseconds} ms");
    }

    [Fact]
    public void Broker_ids_outside_one_to_broker_count_are_rejected()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokers: 2);

        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.SetBrokerDown(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.SetBrokerUp(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.SetBrokerRtt(-1, TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddedKafkaCluster.Start(brokers: 0));
    }

    [Fact]
    public void Dispose_twice_does_not_throw()
    {
        var cluster = EmbeddedKafkaCluster.Start();

        cluster.Dispose();
        var second = Record.Exception(cluster.Dispose);

        Assert.Null(second);
    }

    [Fact]
    public void Dispose_from_several_threads_at_once_does_not_throw()
    {
        var cluster = EmbeddedKafkaCluster.Start(brokers: 2);

        Parallel.For(0, 8, _ => cluster.Dispose());

        Assert.Throws<ObjectDisposedException>(() => cluster.SetAllBrokersUp());
    }

    [Fact]
    public void CreateTopic_after_dispose_throws_ObjectDisposedException()
    {
        var cluster = EmbeddedKafkaCluster.Start();
        cluster.Dispose();

        Assert.Throws<ObjectDisposedException>(() => cluster.CreateTopic(NewTopicName(), partitions: 1));
        Assert.Throws<ObjectDisposedException>(() => cluster.SetBrokerDown(1));
        Assert.Throws<ObjectDisposedException>(() => cluster.SetBrokerUp(1));
        Assert.Throws<ObjectDisposedException>(cluster.SetAllBrokersDown);
        Assert.Throws<ObjectDisposedException>(() => cluster.SetBrokerRtt(1, TimeSpan.Zero));
        Assert.Throws<ObjectDisposedException>(() => cluster.PushRequestErrors(EmbeddedKafkaCluster.FetchApiKey, ErrorCode.NotLeaderForPartition));
    }

    [Fact]
    public void A_consumer_without_group_id_is_rejected_by_confluent_even_when_it_would_only_assign()
    {
        using var cluster = EmbeddedKafkaCluster.Start();
        var config = new ConsumerConfig { BootstrapServers = cluster.BootstrapServers, EnableAutoCommit = false };

        var ex = Assert.Throws<ArgumentException>(() => new ConsumerBuilder<string, byte[]>(config).Build());

        Assert.Contains("group.id", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_cluster_shares_the_native_librdkafka_that_confluent_loaded()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var cluster = EmbeddedKafkaCluster.Start();
        using var producer = new ProducerBuilder<string, byte[]>(ProducerConfig(cluster)).Build();

        var mapped = File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 6 && fields[5].Contains("librdkafka", StringComparison.Ordinal))
            .Select(fields => fields[5])
            .Distinct()
            .ToList();
        Assert.Single(mapped);
    }

    private static string NewTopicName() => $"test-{Guid.NewGuid():N}";

    private static Message<string, byte[]> Message(string text) =>
        new() { Key = text, Value = Encoding.UTF8.GetBytes(text) };

    private static ProducerConfig ProducerConfig(EmbeddedKafkaCluster cluster, bool idempotent = false) => new()
    {
        BootstrapServers = cluster.BootstrapServers,
        Acks = Acks.All,
        EnableIdempotence = idempotent,
        LingerMs = 1,
        // Long enough to outlive a broker that is down for a few seconds.
        MessageTimeoutMs = 60_000,
        // Reconnect quickly once a broker is back up.
        ReconnectBackoffMs = 50,
        ReconnectBackoffMaxMs = 250,
    };

    private static int[] PartitionLeaders(EmbeddedKafkaCluster cluster, string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        return Assert.Single(admin.GetMetadata(topic, Timeout).Topics).Partitions
            .OrderBy(p => p.PartitionId)
            .Select(p => p.Leader)
            .ToArray();
    }

    /// <summary>Reads every partition from the beginning with <c>Assign</c> (no group join) until <paramref name="expected"/> records arrived.</summary>
    private static Task<List<ConsumeResult<string, byte[]>>> ConsumeAsync(
        EmbeddedKafkaCluster cluster, string topic, int partitions, int expected) => Task.Run(() =>
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            // Required by Confluent.Kafka even for Assign; never joined, nothing committed.
            GroupId = $"assign-only-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            ReconnectBackoffMs = 50,
            ReconnectBackoffMaxMs = 250,
        };
        using var consumer = new ConsumerBuilder<string, byte[]>(config).Build();
        consumer.Assign(Enumerable.Range(0, partitions)
            .Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var received = new List<ConsumeResult<string, byte[]>>();
        var deadline = Stopwatch.StartNew();
        while (received.Count < expected && deadline.Elapsed < Timeout)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (result is { IsPartitionEOF: false })
            {
                received.Add(result);
            }
        }

        consumer.Close();
        return received;
    });
}
