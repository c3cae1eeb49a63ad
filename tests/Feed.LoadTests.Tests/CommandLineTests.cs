using System.Diagnostics;
using MarketStream.LoadTests;

namespace MarketStream.LoadTests.Tests;

/// <summary>The simulator's command line: --help prints usage and exits 0; an unknown or malformed option is an error.</summary>
public sealed class CommandLineTests
{
    [Fact]
    public async Task Simulator_help_prints_usage_and_exits()
    {
        var (code, stdout, _) = await RunSimulatorAsync("--help");
        Assert.Equal(0, code);
        Assert.Contains("Usage:", stdout, StringComparison.Ordinal);
        Assert.Contains("--bootstrap-servers", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("BOOTSTRAP=", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--rat", "5")]
    [InlineData("--rate", "abc")]
    [InlineData("extra")]
    public async Task Simulator_refuses_an_unknown_or_malformed_option(params string[] args)
    {
        var (code, stdout, stderr) = await RunSimulatorAsync(args);
        Assert.NotEqual(0, code);
        Assert.Contains(args[^1] == "abc" ? "abc" : args[0], stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("BOOTSTRAP=", stdout, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunSimulatorAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        start.ArgumentList.Add(Binaries.Simulator());
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the simulator did not exit with {string.Join(' ', args)}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
