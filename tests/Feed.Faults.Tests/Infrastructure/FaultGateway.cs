namespace MarketStream.Faults.Tests.Infrastructure;

/// <summary>The shared <see cref="GatewayHost"/>, reading the test's cluster rather than an embedded one.</summary>
internal static class FaultGateway
{
    /// <summary>Starts a gateway on <paramref name="port"/> (0: any free port) against <paramref name="kafka"/>.</summary>
    public static Task<GatewayHost> StartAsync(FaultKafka kafka, int port = 0, params (string Key, object Value)[] settings) =>
        GatewayHost.StartOnPortAsync(port,
        [
            ("Feed:Kafka:BootstrapServers", kafka.BootstrapServers),
            ("Feed:Kafka:Topic", kafka.Topic),

            // The embedded broker does not answer a waiting fetch early, so the fetch wait is the latency floor
            // (100 ms by default against a "real" cluster, which this is to the gateway).
            ("Feed:Kafka:FetchWaitMaxMs", 2),
            .. settings,
        ]);
}
