using System.Globalization;
using System.Net;
using System.Reflection;
using MarketStream.Deployment.Tests.Infrastructure;
using MarketStream.Gateway;
using MarketStream.Gateway.Streaming;
using MarketStream.Ingest;
using MarketStream.Ingest.Embedded;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace MarketStream.Deployment.Tests;

/// <summary>
/// The environment the manifests give the gateway: every <c>Feed__…</c> key is a real option, every value passes the
/// gateway's own validation, a gateway started with the whole set works, and the shutdown budget fits the pod's.
/// </summary>
public sealed class ConfigurationTests
{
    private const string BootstrapKey = "Feed__Kafka__BootstrapServers";
    private const string ManagementPortKey = "Feed__Gateway__ManagementPort";
    private const string ShutdownTimeoutKey = "DOTNET_SHUTDOWNTIMEOUTSECONDS";

    /// <summary>Keys outside Feed that the manifests may set, each checked by a test of its own.</summary>
    private static readonly string[] PlatformKeys = ["ASPNETCORE_HTTP_PORTS", ShutdownTimeoutKey, "DOTNET_PROCESSOR_COUNT", "Logging__Console__FormatterName"];

    private static readonly Type[] OptionTypes =
        [typeof(KafkaOptions), typeof(EmbeddedBrokerOptions), typeof(SnapshotOptions), typeof(IngestOptions), typeof(SimulatorOptions), typeof(GatewayOptions), typeof(MarketStream.Gateway.Security.AuthOptions)];

    public static TheoryData<string> Overlays => [.. Manifests.Overlays];

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Every_Feed_key_is_an_option_property(string overlay)
    {
        var env = (await Manifests.RenderAsync(overlay).WaitAsync(TimeSpan.FromMinutes(8))).GatewayEnvironment;

        var problems = env.Keys
            .Where(k => !PlatformKeys.Contains(k, StringComparer.Ordinal))
            .Select(k => k.StartsWith("Feed__", StringComparison.Ordinal) ? ExplainFeedKey(k) : $"{k}: not a Feed__ key nor a known platform key")
            .OfType<string>()
            .ToList();

        Assert.True(problems.Count == 0, $"{overlay}:\n" + string.Join('\n', problems));
        Assert.True(env.ContainsKey(BootstrapKey), $"{overlay}: {BootstrapKey} must name the Strimzi cluster; without it the gateway starts its embedded broker");
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task One_snapshot_publisher_writes_the_compacted_quotes_topic_that_the_gateways_read(string overlay)
    {
        var rendered = await Manifests.RenderAsync(overlay).WaitAsync(TimeSpan.FromMinutes(8));
        var publisher = rendered.Named("Deployment", "marketstream-snapshot");
        Assert.Equal(1, publisher.At("spec", "replicas").GetInt32());
        var container = Assert.Single(publisher.At("spec", "template", "spec", "containers").EnumerateArray());
        Assert.Equal(rendered.GatewayContainer.At("image").GetString(), container.At("image").GetString());
        Assert.Equal(
            rendered.GatewayContainer.At("envFrom")[0].At("configMapRef", "name").GetString(),
            container.At("envFrom")[0].At("configMapRef", "name").GetString());
        Assert.Contains(container.At("env").EnumerateArray(), e => e.At("name").GetString() == "Feed__Snapshot__Publish" && e.At("value").GetString() == "true");

        // The gateways read the topic and do not write it; the publisher takes no client traffic.
        var gatewayEnv = rendered.GatewayEnvironment;
        Assert.Equal("market.quotes", gatewayEnv["Feed__Snapshot__Topic"]);
        Assert.False(gatewayEnv.ContainsKey("Feed__Snapshot__Publish"), $"{overlay}: every gateway replica would publish");
        var podLabels = publisher.At("spec", "template", "metadata", "labels");
        var selector = rendered.Single("Service").At("spec", "selector").EnumerateObject().ToList();
        Assert.False(
            selector.All(s => podLabels.TryGetProperty(s.Name, out var v) && v.GetString() == s.Value.GetString()),
            $"{overlay}: the Service would send clients to the publisher");

        var topic = rendered.Named("KafkaTopic", "market.quotes");
        Assert.Equal("market.quotes", topic.At("spec", "topicName").GetString());
        Assert.Equal("compact", topic.At("spec", "config", "cleanup.policy").GetString());
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task The_manifest_values_pass_the_gateway_validation(string overlay)
    {
        var env = (await Manifests.RenderAsync(overlay).WaitAsync(TimeSpan.FromMinutes(8))).GatewayEnvironmentWithSecrets;

        // Built with the values exactly as in the manifest (the real bootstrap servers too): resolving each options
        // object binds it and runs the gateway's validation, without starting anything that would dial Kafka.
        var app = GatewayApp.Create([.. ToArguments(env, bootstrapServers: null), "--Logging:LogLevel:Default=Warning"]);
        try
        {
            Assert.Equal(env[BootstrapKey], app.Services.GetRequiredService<IOptions<KafkaOptions>>().Value.BootstrapServers);
            _ = app.Services.GetRequiredService<IOptions<EmbeddedBrokerOptions>>().Value;
            _ = app.Services.GetRequiredService<IOptions<SnapshotOptions>>().Value;
            _ = app.Services.GetRequiredService<IOptions<IngestOptions>>().Value;
            _ = app.Services.GetRequiredService<IOptions<SimulatorOptions>>().Value;
            _ = app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value;
            _ = app.Services.GetRequiredService<IOptions<MarketStream.Gateway.Security.AuthOptions>>().Value;
        }
        finally
        {
            await app.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task A_gateway_with_the_manifest_settings_starts_and_turns_ready(string overlay)
    {
        var env = new Dictionary<string, string>((await Manifests.RenderAsync(overlay).WaitAsync(TimeSpan.FromMinutes(8))).GatewayEnvironmentWithSecrets);
        var topic = env.GetValueOrDefault("Feed__Kafka__Topic") ?? new KafkaOptions().Topic;

        // The manifest's management port, moved to a free one on this shared machine; probes go there.
        Assert.True(env.ContainsKey(ManagementPortKey), $"{overlay}: no management port: /metrics and /healthz would be public");
        var managementPort = ProbeAndPortTests.FreePort();
        env[ManagementPortKey] = managementPort.ToString(CultureInfo.InvariantCulture);

        // The manifest's bootstrap servers are a cluster-internal name: stand an embedded cluster in for it, reached
        // as a real cluster would be (so no simulator, no embedded broker inside the gateway: the k8s path).
        using var cluster = EmbeddedKafkaCluster.Start();
        cluster.CreateTopic(topic, 3);
        string[] args = [.. ToArguments(env, cluster.BootstrapServers), "--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"];

        await using var gateway = await GatewayHost.StartWithArgumentsAsync(args);
        Assert.Null(gateway.App.Services.GetRequiredService<KafkaConnection>().Embedded);
        var options = gateway.App.Services.GetRequiredService<IOptions<GatewayOptions>>().Value;
        if (env.TryGetValue("Feed__Gateway__DrainSeconds", out var drain))
        {
            Assert.Equal(int.Parse(drain, CultureInfo.InvariantCulture), options.DrainSeconds);
        }

        // DOTNET_SHUTDOWNTIMEOUTSECONDS really sets the host's stop budget (the drain runs inside it).
        if (env.TryGetValue(ShutdownTimeoutKey, out var shutdown))
        {
            var host = gateway.App.Services.GetRequiredService<IOptions<HostOptions>>().Value;
            Assert.Equal(TimeSpan.FromSeconds(int.Parse(shutdown, CultureInfo.InvariantCulture)), host.ShutdownTimeout);
        }

        using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{managementPort}/"), Timeout = TimeSpan.FromSeconds(5) };
        await ProbeAndPortTests.Eventually(async () =>
        {
            using var response = await management.GetAsync(new Uri("/healthz/ready", UriKind.Relative)).WaitAsync(TimeSpan.FromSeconds(10));
            return response.StatusCode == HttpStatusCode.OK;
        }, $"{overlay}: the gateway with the manifest settings never turned ready", TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.Http.GetAsync(new Uri("/metrics", UriKind.Relative))).StatusCode);
    }

    /// <summary>
    /// The pod's grace period covers the preStop sleep plus the host's stop budget, which covers the drain plus the
    /// close timeout; otherwise the kubelet's SIGKILL cuts the drain and clients see resets instead of 1001.
    /// </summary>
    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Shutdown_budget_fits_in_the_grace_period(string overlay)
    {
        var rendered = await Manifests.RenderAsync(overlay).WaitAsync(TimeSpan.FromMinutes(8));
        var env = rendered.GatewayEnvironment;
        var defaults = new GatewayOptions();
        var drain = IntOr(env, "Feed__Gateway__DrainSeconds", defaults.DrainSeconds);
        var closeSeconds = (int)Math.Ceiling(IntOr(env, "Feed__Gateway__CloseTimeoutMs", defaults.CloseTimeoutMs) / 1000.0);
        var hostStop = IntOr(env, ShutdownTimeoutKey, (int)new HostOptions().ShutdownTimeout.TotalSeconds);
        var preStop = rendered.GatewayContainer.At("lifecycle", "preStop", "sleep", "seconds").GetInt32();
        var grace = rendered.GatewayDeployment.At("spec", "template", "spec", "terminationGracePeriodSeconds").GetInt32();

        // The drain closes clients over DrainSeconds, then waits up to CloseTimeoutMs + 1 s for the handshakes.
        Assert.True(hostStop >= drain + closeSeconds + 1,
            $"{overlay}: host stop budget {hostStop} s < drain {drain} s + close {closeSeconds} s + 1 s");
        Assert.True(grace >= preStop + hostStop + 2,
            $"{overlay}: terminationGracePeriodSeconds {grace} < preStop {preStop} s + host stop {hostStop} s + 2 s");
        Assert.InRange(preStop, 1, 15); // endpoint propagation only: the gateway drains by itself on SIGTERM
    }

    /// <summary>Command-line arguments equivalent to the environment (<c>Feed__A__B</c> is <c>--Feed:A:B</c>; <c>DOTNET_X</c> is <c>--X</c>).</summary>
    private static IEnumerable<string> ToArguments(IReadOnlyDictionary<string, string> env, string? bootstrapServers)
    {
        foreach (var (key, value) in env)
        {
            if (bootstrapServers is not null && key.StartsWith("Feed__Kafka__Properties__", StringComparison.Ordinal))
            {
                // The embedded cluster standing in for Strimzi's has no TLS listener nor users: its settings stay out.
                continue;
            }

            if (key.StartsWith("Feed__", StringComparison.Ordinal))
            {
                var v = key == BootstrapKey && bootstrapServers is not null ? bootstrapServers : value;
                yield return $"--{key.Replace("__", ":", StringComparison.Ordinal)}={v}";
            }
            else if (key.StartsWith("Logging__", StringComparison.Ordinal))
            {
                yield return $"--{key.Replace("__", ":", StringComparison.Ordinal)}={value}";
            }
            else if (key.StartsWith("DOTNET_", StringComparison.Ordinal))
            {
                yield return $"--{key["DOTNET_".Length..]}={value}";
            }
        }
    }

    private static int IntOr(IReadOnlyDictionary<string, string> env, string key, int fallback) =>
        env.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    /// <summary>Why <paramref name="envKey"/> binds to nothing, or null when it names a settable option property.</summary>
    private static string? ExplainFeedKey(string envKey)
    {
        var sections = OptionTypes.ToDictionary(
            t => (string)t.GetField("Section", BindingFlags.Public | BindingFlags.Static)!.GetRawConstantValue()!,
            StringComparer.OrdinalIgnoreCase);
        var configKey = envKey.Replace("__", ":", StringComparison.Ordinal);
        var section = sections.Keys.FirstOrDefault(s => configKey.StartsWith(s + ":", StringComparison.OrdinalIgnoreCase));
        if (section is null)
        {
            return $"{envKey}: no options class binds section {string.Join(':', configKey.Split(':').Take(2))} (known: {string.Join(", ", sections.Keys)})";
        }

        var path = configKey[(section.Length + 1)..].Split(':');
        var type = sections[section];
        var property = type.GetProperty(path[0], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
        if (property?.SetMethod is not { IsPublic: true })
        {
            return $"{envKey}: {type.Name} has no settable property {path[0]}";
        }

        var isDictionary = property.PropertyType.IsGenericType
            && property.PropertyType.GetGenericTypeDefinition() == typeof(Dictionary<,>);
        return (path.Length, isDictionary) switch
        {
            (1, false) => null,
            (2, true) => null,
            (1, true) => $"{envKey}: {type.Name}.{property.Name} is a map; name an entry (…__{path[0]}__<name>)",
            _ => $"{envKey}: {type.Name}.{property.Name} has no sub-keys",
        };
    }
}
