using MarketStream.Contracts;
using MarketStream.Gateway.Market;
using MarketStream.Gateway.Security;
using Microsoft.Extensions.Options;

namespace MarketStream.Gateway.Streaming;

public static class StreamingExtensions
{
    /// <summary>The streaming side: options, fan-out, sessions and their registry (with drain), the WebSocket endpoint.</summary>
    public static IServiceCollection AddMarketStreaming(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<GatewayOptions>()
            .Bind(configuration.GetSection(GatewayOptions.Section))
            .Validate(o => o.ThrottleMs is >= ThrottleLimits.MinMs and <= ThrottleLimits.MaxMs, "Feed:Gateway:ThrottleMs must be between 0 and 60000.")
            .Validate(o => o.ManagementPort is null or (>= 1 and <= 65_535), "Feed:Gateway:ManagementPort must be between 1 and 65535 when set.")
            .Validate(o => DeliveryPolicies.TryParse(o.Policy, out _), $"Feed:Gateway:Policy must be one of: {DeliveryPolicies.Names}.")
            .Validate(o => o.QueueCapacity is >= 16 and <= 65_536, "Feed:Gateway:QueueCapacity must be between 16 and 65536.")
            .Validate(o => o.HeartbeatMs is >= 100 and <= 300_000, "Feed:Gateway:HeartbeatMs must be between 100 and 300000.")
            .Validate(o => o.KeepAliveIntervalMs is >= 0 and <= 600_000, "Feed:Gateway:KeepAliveIntervalMs must be between 0 and 600000.")
            .Validate(o => o.KeepAliveTimeoutMs is >= 0 and <= 600_000, "Feed:Gateway:KeepAliveTimeoutMs must be between 0 and 600000.")
            .Validate(o => o.MaxFrameBytes is >= 1024 and <= 1_048_576, "Feed:Gateway:MaxFrameBytes must be between 1024 and 1048576.")
            .Validate(o => o.MaxSymbolsPerConnection is >= 1 and <= 10_000, "Feed:Gateway:MaxSymbolsPerConnection must be between 1 and 10000.")
            .Validate(o => o.MaxRequestsPerSecond is >= 1 and <= 10_000, "Feed:Gateway:MaxRequestsPerSecond must be between 1 and 10000.")
            .Validate(o => o.MaxConnections is >= 1 and <= 1_000_000, "Feed:Gateway:MaxConnections must be between 1 and 1000000.")
            .Validate(o => o.DrainSeconds is >= 0 and <= 600, "Feed:Gateway:DrainSeconds must be between 0 and 600.")
            .Validate(o => o.CloseTimeoutMs is >= 100 and <= 60_000, "Feed:Gateway:CloseTimeoutMs must be between 100 and 60000.")
            .Validate(o => o.HandshakeTimeoutMs is >= 1_000 and <= 120_000, "Feed:Gateway:HandshakeTimeoutMs must be between 1000 and 120000.")
            .Validate(o => o.FrameTimeoutMs is >= 100 and <= 120_000, "Feed:Gateway:FrameTimeoutMs must be between 100 and 120000.")
            .Validate(o => o.CompressionLevel is >= 1 and <= 9, "Feed:Gateway:CompressionLevel must be between 1 and 9.")
            .ValidateOnStart();

        // The host must wait for the whole drain: the drain window, then each client's close handshake.
        services.AddOptions<HostOptions>().Configure<IOptions<GatewayOptions>>((host, gateway) =>
        {
            var needed = TimeSpan.FromSeconds(gateway.Value.DrainSeconds) + TimeSpan.FromMilliseconds(gateway.Value.CloseTimeoutMs) + TimeSpan.FromSeconds(5);
            if (host.ShutdownTimeout < needed)
            {
                host.ShutdownTimeout = needed;
            }
        });

        // A handshake that never completes (slowloris) is cut off by Kestrel's request-head timeout.
        // Each connection's output goes straight to its socket (SocketOutput), unless turned off.
        services.AddOptions<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>().Configure<IOptions<GatewayOptions>>((kestrel, gateway) =>
        {
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromMilliseconds(gateway.Value.HandshakeTimeoutMs);
            if (gateway.Value.DirectSocketWrites)
            {
                kestrel.ConfigureEndpointDefaults(listen => listen.Use(SocketOutput.Middleware(kestrel.Limits.MaxResponseBufferSize)));
            }
        });

        services.AddSingleton<SubscriptionIndex>();
        services.AddSingleton<GatewayStats>();
        services.AddSingleton<SessionRegistry>();
        services.AddHostedService(sp => sp.GetRequiredService<SessionRegistry>());
        services.AddSingleton(sp => new SendScheduler(sp.GetRequiredService<TimeProvider>(), SendScheduler.DefaultThreads));
        services.AddSingleton<SessionFactory>();
        services.AddHostedService<FeedStatusBroadcaster>();
        services.AddSingleton<SessionHost>();
        services.AddSingleton<WebSocketEndpoint>();
        services.AddSingleton<SseEndpoint>();
        return services;
    }

    /// <summary>Maps <c>GET /ws</c> (with WebSocket keep-alive pings and their timeout) and <c>GET /sse</c>.</summary>
    public static WebApplication MapMarketStreamWebSocket(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var endpoint = app.Services.GetRequiredService<WebSocketEndpoint>();
        app.Map("/ws", endpoint.HandleAsync).RequireStreamAuthorization(app.Services);
        app.MapGet("/sse", app.Services.GetRequiredService<SseEndpoint>().HandleAsync).RequireStreamAuthorization(app.Services);
        return app;
    }
}
