using MarketStream.Gateway.Http;
using MarketStream.Gateway.Market;
using MarketStream.Gateway.Security;
using MarketStream.Gateway.Streaming;
using MarketStream.Gateway.Telemetry;
using MarketStream.Ingest;

namespace MarketStream.Gateway;

/// <summary>Builds the gateway: the same application for <c>Program</c> and for in-process tests.</summary>
public static class GatewayApp
{
    /// <summary>Used when neither <c>--urls</c>, <c>ASPNETCORE_URLS</c>, HTTP ports nor Kestrel endpoints say otherwise.</summary>
    public const string DefaultUrl = "http://localhost:8080";

    /// <param name="args">Command-line arguments (configuration, <c>--urls</c>).</param>
    /// <param name="configure">A last say over the builder, for tests that shape the network (socket buffers, say).</param>
    /// <param name="time">
    /// The clock of everything the gateway times (throttles, heartbeats, keep-alive, the feed's freshness, the send
    /// lanes' deadlines); the system clock unless a test passes a fake one to drive those by hand.
    /// </param>
    public static WebApplication Create(string[] args, Action<WebApplicationBuilder>? configure = null, TimeProvider? time = null)
    {
        // The content root is where the binary is (wwwroot and appsettings.json are copied beside it), not the
        // current directory, so a gateway started from anywhere still serves its quote board.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = File.Exists(Path.Combine(AppContext.BaseDirectory, "wwwroot", "index.html")) ? AppContext.BaseDirectory : null,
        });
        builder.Configuration.AddListSettings(builder.Configuration);
        if (!HasConfiguredEndpoints(builder.Configuration))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        ManagementPort.Listen(builder, DefaultUrl);

        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        builder.Services.AddMarketStreamIngest(builder.Configuration);
        builder.Services.AddMarketState();
        builder.Services.AddMarketStreaming(builder.Configuration);
        builder.Services.AddGatewaySecurity(builder.Configuration);
        builder.Services.AddGatewayHealth();
        builder.Services.AddDashboard();
        builder.Services.AddMarketStreamTelemetry(builder.Configuration);
        configure?.Invoke(builder);

        var app = builder.Build();

        app.UseManagementPort();

        // The quote board and the operations dashboard (wwwroot): plain HTML, CSS and ES modules, no build step.
        app.UseDashboardRedirect();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseGatewaySecurity();
        app.MapMarketStreamWebSocket();
        app.MapQuoteApi();
        app.MapGatewayHealth();
        app.MapMarketStreamMetrics();
        app.MapDashboard();
        return app;
    }

    private static bool HasConfiguredEndpoints(IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration[WebHostDefaults.ServerUrlsKey])
        || !string.IsNullOrEmpty(configuration["http_ports"])
        || !string.IsNullOrEmpty(configuration["https_ports"])
        || configuration.GetSection("Kestrel:Endpoints").GetChildren().Any();
}
