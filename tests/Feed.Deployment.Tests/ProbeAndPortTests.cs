using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using MarketStream.Deployment.Tests.Infrastructure;

namespace MarketStream.Deployment.Tests;

/// <summary>The probe paths and the port in the manifests are ones the gateway really serves.</summary>
public sealed partial class ProbeAndPortTests
{
    private const int ManifestPort = 8080;

    public static TheoryData<string> Overlays => [.. Manifests.Overlays];

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Probe_paths_answer_on_a_real_gateway(string overlay)
    {
        var rendered = await Manifests.RenderAsync(overlay).WaitAsync(TimeSpan.FromMinutes(8));
        var container = rendered.GatewayContainer;
        var live = new[] { "startupProbe", "livenessProbe" }.Select(p => container.At(p, "httpGet", "path").GetString()!).ToList();
        var ready = container.At("readinessProbe", "httpGet", "path").GetString()!;

        await using var gateway = await GatewayHost.StartWithArgumentsAsync("--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning");
        foreach (var path in live)
        {
            using var response = await gateway.Http.GetAsync(new Uri(path, UriKind.Relative)).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{overlay}: {path} answered {(int)response.StatusCode}");
        }

        // Readiness is 503 until the ingest is warm; it must turn 200.
        await Eventually(async () =>
        {
            using var response = await gateway.Http.GetAsync(new Uri(ready, UriKind.Relative)).WaitAsync(TimeSpan.FromSeconds(10));
            return response.StatusCode == HttpStatusCode.OK;
        }, $"{overlay}: {ready} never answered 200", TimeSpan.FromSeconds(60));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Container_port_image_and_environment_agree_on_8080(string overlay)
    {
        var rendered = await Manifests.RenderAsync(overlay).WaitAsync(TimeSpan.FromMinutes(8));
        var container = rendered.GatewayContainer;

        var http = container.At("ports").EnumerateArray().Single(p => p.At("name").GetString() == "http");
        Assert.Equal(ManifestPort, http.At("containerPort").GetInt32());
        Assert.Equal($"{ManifestPort}", rendered.GatewayEnvironment["ASPNETCORE_HTTP_PORTS"]);
        Assert.Equal("http", rendered.Single("Service").At("spec", "ports")[0].At("targetPort").GetString());

        // Probes and the ServiceMonitor use the management port; no route sends clients to it.
        var management = container.At("ports").EnumerateArray().Single(p => p.At("name").GetString() == "management");
        Assert.Equal(rendered.GatewayEnvironment["Feed__Gateway__ManagementPort"], management.At("containerPort").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var probe in new[] { "startupProbe", "livenessProbe", "readinessProbe" })
        {
            var port = container.At(probe, "httpGet", "port");
            Assert.True(port.ToString() is "management", $"{overlay}: {probe} targets port {port}");
        }

        Assert.Equal("management", rendered.Single("ServiceMonitor").At("spec", "endpoints")[0].At("port").GetString());
        var servicePorts = rendered.Single("Service").At("spec", "ports").EnumerateArray().ToDictionary(p => p.At("port").GetInt32(), p => p.At("name").GetString());
        var routed = rendered.Single("HTTPRoute").At("spec", "rules").EnumerateArray()
            .SelectMany(r => r.At("backendRefs").EnumerateArray()).Select(b => servicePorts[b.At("port").GetInt32()]).ToList();
        Assert.NotEmpty(routed);
        Assert.All(routed, port => Assert.Equal("http", port));

        var dockerfile = await File.ReadAllTextAsync(Repo.PathOf("Dockerfile")).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Matches(HttpPortsEnv(), dockerfile);
        Assert.Matches(ExposePort(), dockerfile);
    }

    /// <summary>
    /// ASPNETCORE_HTTP_PORTS (what the image and the ConfigMap set) must override the gateway's default URL, which
    /// is localhost only: in a pod that would refuse the kubelet's probes and the Service.
    /// </summary>
    [Fact]
    public async Task Http_ports_setting_binds_every_interface()
    {
        var port = FreePort();
        await using var gateway = await GatewayHost.StartWithArgumentsAsync($"--HTTP_PORTS={port}", "--Logging:LogLevel:Default=Warning");
        var url = Assert.Single(gateway.App.Urls);
        Assert.DoesNotContain("localhost", url, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("127.0.0.1", url, StringComparison.Ordinal);
        Assert.EndsWith($":{port}", url, StringComparison.Ordinal);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz/live")).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The shared poll, for an HTTP probe of a gateway that may not be listening yet (that is "not yet", not a failure).</summary>
    internal static Task Eventually(Func<Task<bool>> condition, string what, TimeSpan timeout) =>
        MarketStream.Testing.Eventually.Holds(
            async () =>
            {
                try
                {
                    return await condition();
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            },
            what,
            timeout);

    [GeneratedRegex(@"^\s*ENV\s+(.*\s)?ASPNETCORE_HTTP_PORTS=8080(\s|$)", RegexOptions.Multiline)]
    private static partial Regex HttpPortsEnv();

    [GeneratedRegex(@"^\s*EXPOSE\s+8080\s*$", RegexOptions.Multiline)]
    private static partial Regex ExposePort();
}
