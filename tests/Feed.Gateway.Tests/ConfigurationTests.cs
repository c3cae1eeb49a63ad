using System.Diagnostics;
using System.Net.WebSockets;

namespace MarketStream.Gateway.Tests;

/// <summary>What an operator sees when the configuration is wrong, and the list forms every list setting accepts.</summary>
public class ConfigurationTests
{
    /// <summary>A bad value stops the gateway with one line naming the key, the value and what is allowed, and exit code 2.</summary>
    [Theory]
    [InlineData("--Feed:Gateway:ThrottleMs=abc", "Feed:Gateway:ThrottleMs is 'abc', which is not a whole number.")]
    [InlineData("--Feed:Gateway:ThrottleMs=-5", "Feed:Gateway:ThrottleMs must be between 0 and 60000 (it is '-5').")]
    [InlineData("--Feed:Gateway:Policy=yolo", "Feed:Gateway:Policy must be one of: conflate, drop-oldest, drop-newest, disconnect (it is 'yolo').")]
    [InlineData("--Feed:Auth:Enabled=maybe", "Feed:Auth:Enabled is 'maybe', which is not true or false.")]
    [InlineData("--Feed:Auth:Enabled=true", "Feed:Auth:Issuer is required when Feed:Auth:Enabled is true.")]
    [InlineData("--Feed:Auth:AllowedOrigins:0=not-an-origin", "Feed:Auth:AllowedOrigins must be a comma-separated list of origins such as https://terminal.example.com (it is 'not-an-origin').")]
    public async Task A_bad_setting_stops_the_gateway_with_one_clear_line(string setting, string expected)
    {
        var gateway = Path.Combine(AppContext.BaseDirectory, "Feed.Gateway.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { gateway, "--urls", "http://127.0.0.1:0", setting },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(ConfigurationErrors.ExitCode, process.ExitCode);
        var lines = (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith("Configuration error: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", await stdout + line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", await stdout, StringComparison.Ordinal);
    }

    /// <summary>The array form of ASP.NET Core configuration (environment <c>__0</c>, JSON arrays) works for every list setting.</summary>
    [Fact]
    public async Task List_settings_accept_the_array_form_as_well_as_commas()
    {
        await using var gateway = await GatewayHost.StartAsync(
            ("Feed:Auth:AllowedOrigins:0", "https://terminal.example.com"), ("Feed:Auth:AllowedOrigins:1", "https://desk.example.com"),
            ("Feed:Simulator:Symbols:0", "AAPL"), ("Feed:Simulator:Symbols:1", "MSFT"));

        var foreign = await Assert.ThrowsAsync<WebSocketException>(() =>
            ProtocolClient.ConnectAsync(gateway.Address, configure: o => o.SetRequestHeader("Origin", "https://evil.example.net")));
        Assert.Contains("403", foreign.Message, StringComparison.Ordinal);
        foreach (var origin in new[] { "https://terminal.example.com", "https://desk.example.com" })
        {
            await using var allowed = await ProtocolClient.ConnectAsync(gateway.Address, configure: o => o.SetRequestHeader("Origin", origin));
            Assert.Equal("hello", (await allowed.ReceiveAsync())!.Value.Type());
        }

        await Eventually.Holds(() => Task.FromResult(gateway.State.Count == 2), "quotes of the two listed symbols");
        Assert.Equal(["AAPL", "MSFT"], gateway.State.Symbols().Order());
    }
}
