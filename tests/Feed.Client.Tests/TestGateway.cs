namespace MarketStream.Client.Tests;

/// <summary>The shared <see cref="GatewayHost"/>, with no drain window: these tests stop gateways often.</summary>
internal static class TestGateway
{
    public static Task<GatewayHost> StartAsync(params (string Key, object Value)[] settings) => StartAsync(0, settings);

    /// <summary>A gateway on <paramref name="port"/> (0: any free one), to restart "the same" gateway.</summary>
    public static Task<GatewayHost> StartAsync(int port, params (string Key, object Value)[] settings) =>
        GatewayHost.StartOnPortAsync(port, [("Feed:Gateway:DrainSeconds", 0), .. settings]);
}
