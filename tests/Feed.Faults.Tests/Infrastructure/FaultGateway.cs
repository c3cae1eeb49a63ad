using System.Globalization;
using MarketStream.Gateway;

namespace MarketStream.Faults.Tests.Infrastructure;

/// <summary>A real gateway in this process (Kestrel on 127.0.0.1), built exactly as <c>Program</c> builds it, reading the test's cluster.</summary>
internal sealed class FaultGateway : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private bool stopped;

    private FaultGateway(WebApplication app, Uri address)
    {
        App = app;
        Address = address;
        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(5) };
    }

    public WebApplication App { get; }

    public Uri Address { get; }

    public int Port => Address.Port;

    public HttpClient Http { get; }

    public T Get<T>()
        where T : notnull => App.Services.GetRequiredService<T>();

    /// <summary>Starts a gateway on <paramref name="port"/> (0: any free port) against <paramref name="kafka"/>.</summary>
    public static async Task<FaultGateway> StartAsync(FaultKafka kafka, int port = 0, params (string Key, object Value)[] settings)
    {
        var args = new List<string>
        {
            $"--urls=http://127.0.0.1:{port}",
            "--Logging:LogLevel:Default=Warning",
            $"--Feed:Kafka:BootstrapServers={kafka.BootstrapServers}",
            $"--Feed:Kafka:Topic={kafka.Topic}",

            // The embedded broker does not answer a waiting fetch early, so the fetch wait is the latency floor
            // (100 ms by default against a "real" cluster, which this is to the gateway).
            "--Feed:Kafka:FetchWaitMaxMs=2",
        };
        args.AddRange(settings.Select(s => $"--{s.Key}={Convert.ToString(s.Value, CultureInfo.InvariantCulture)}"));
        var app = GatewayApp.Create([.. args]);
        await app.StartAsync().WaitAsync(StartTimeout);
        return new FaultGateway(app, new Uri(app.Urls.Single()));
    }

    public async Task<int> ReadinessAsync()
    {
        try
        {
            using var response = await Http.GetAsync(new Uri("/healthz/ready", UriKind.Relative)).WaitAsync(TimeSpan.FromSeconds(5));
            return (int)response.StatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or TimeoutException)
        {
            return 0;
        }
    }

    public Task WaitReadyAsync(TimeSpan? timeout = null) =>
        Eventually.Holds(async () => await ReadinessAsync() == 200, "the gateway to be ready", timeout ?? TimeSpan.FromSeconds(20));

    public async Task StopAsync()
    {
        if (stopped)
        {
            return;
        }

        stopped = true;
        Http.Dispose();
        await App.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await App.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
