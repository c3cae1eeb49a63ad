using System.Diagnostics;
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
        var root = RepositoryRoot();
        var package = Path.Combine(root, "clients", "js");
        if (!File.Exists(Path.Combine(package, "node_modules", "ws", "package.json")))
        {
            var install = await RunAsync("npm", ["ci", "--no-audit", "--no-fund"], package, [], TimeSpan.FromMinutes(3));
            Assert.True(install.ExitCode == 0, $"npm ci failed in clients/js:\n{install.Output}");
        }

        var configuration = typeof(JavaScriptClientTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        string Dll(string project) => Path.Combine(root, "src", project, "bin", configuration, "net10.0", project + ".dll");
        var result = await RunAsync("npm", ["test"], package,
            new Dictionary<string, string>
            {
                ["MARKETSTREAM_GATEWAY_DLL"] = Dll("Feed.Gateway"),
                ["MARKETSTREAM_SIMULATOR_DLL"] = Dll("Feed.Simulator"),
            },
            TimeSpan.FromMinutes(5));
        output.WriteLine(result.Output);
        Assert.True(result.ExitCode == 0, $"node --test failed in clients/js:\n{result.Output}");
        Assert.Contains("# fail 0", result.Output, StringComparison.Ordinal);
    }

    /// <summary>One implementation: the board's client is the package's file, copied by <c>eng/vendor/update.sh</c>.</summary>
    [Fact]
    public async Task The_board_serves_the_packages_own_file()
    {
        var root = RepositoryRoot();
        var package = await File.ReadAllBytesAsync(Path.Combine(root, "clients", "js", "src", "index.js"));
        var served = await File.ReadAllBytesAsync(Path.Combine(root, "src", "Feed.Gateway", "wwwroot", "vendor", "marketstream-client.js"));
        Assert.True(package.AsSpan().SequenceEqual(served), "wwwroot/vendor/marketstream-client.js differs from clients/js/src/index.js: run eng/vendor/update.sh");
        Assert.False(File.Exists(Path.Combine(root, "src", "Feed.Gateway", "wwwroot", "js", "connection.js")), "the board's own connection code is back");
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MarketStream.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"MarketStream.sln not found above {AppContext.BaseDirectory}");
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, string[] args, string directory, Dictionary<string, string> environment, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var (k, v) in environment)
        {
            info.Environment[k] = v;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"{file} {string.Join(' ', args)} did not finish within {timeout.TotalMinutes} min\n{await stdout}\n{await stderr}");
        }

        return (process.ExitCode, (await stdout) + (await stderr));
    }
}
