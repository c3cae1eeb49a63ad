using System.Reflection;
using Xunit.Abstractions;

namespace MarketStream.Client.Tests;

/// <summary>
/// The JavaScript client package (<c>clients/js</c>) runs its own tests with Node's test runner, against real
/// gateways (<c>Feed.Gateway.dll</c>) reading a real Kafka-protocol broker (<c>Feed.Simulator.dll</c>), both from
/// this build. Here so that <c>./test.sh</c> and CI run them: the test fails with Node's report when one of them does.
/// </summary>
public sealed class JavaScriptClientTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_javascript_client_passes_its_node_tests_against_real_gateways()
    {
        var package = Repo.PathOf("clients", "js");
        if (!File.Exists(Path.Combine(package, "node_modules", "ws", "package.json")))
        {
            var install = await Repo.RunAsync("npm", ["ci", "--no-audit", "--no-fund"], TimeSpan.FromMinutes(3), package);
            Assert.True(install.ExitCode == 0, $"npm ci failed in clients/js:\n{install}");
        }

        var configuration = typeof(JavaScriptClientTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        string Dll(string project) => Repo.PathOf("src", project, "bin", configuration, "net10.0", project + ".dll");
        var result = await Repo.RunAsync("npm", ["test"], TimeSpan.FromMinutes(5), package, environment: new Dictionary<string, string>
        {
            ["MARKETSTREAM_GATEWAY_DLL"] = Dll("Feed.Gateway"),
            ["MARKETSTREAM_SIMULATOR_DLL"] = Dll("Feed.Simulator"),
        });
        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 0, $"node --test failed in clients/js:\n{result}");
        Assert.Contains("# fail 0", result.StdOut, StringComparison.Ordinal);
    }

    /// <summary>One implementation: the board's client is the package's file, copied by <c>eng/vendor/update.sh</c>.</summary>
    [Fact]
    public async Task The_board_serves_the_packages_own_file()
    {
        var package = await File.ReadAllBytesAsync(Repo.PathOf("clients", "js", "src", "index.js"));
        var served = await File.ReadAllBytesAsync(Repo.PathOf("src", "Feed.Gateway", "wwwroot", "vendor", "marketstream-client.js"));
        Assert.True(package.AsSpan().SequenceEqual(served), "wwwroot/vendor/marketstream-client.js differs from clients/js/src/index.js: run eng/vendor/update.sh");
        Assert.False(File.Exists(Repo.PathOf("src", "Feed.Gateway", "wwwroot", "js", "connection.js")), "the board's own connection code is back");
    }
}
