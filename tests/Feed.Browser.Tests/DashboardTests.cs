using Xunit.Abstractions;
using System.Text.Json;

namespace MarketStream.Browser.Tests;

/// <summary>The operations dashboard in Chromium: live charts from the gateway's own instruments, a clean page.</summary>
public sealed class DashboardTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_dashboard_charts_tick_and_quote_rates_that_move_and_survives_a_gateway_restart()
    {
        await using var board = await BoardHarness.StartAsync();

        // A terminal, so quotes and frames flow too.
        await using var client = await ProtocolClient.ConnectAsync(board.BaseAddress, "throttleMs=0");
        await client.SendAsync("""{"op":"subscribe","id":1,"symbols":["AAPL","MSFT","EUR/USD"]}""");

        await board.GotoAsync("dashboard");
        Assert.EndsWith("/dashboard/", board.Page.Url, StringComparison.Ordinal);
        await board.WaitForAsync("document.getElementById('s-data').textContent === 'live'", "the dashboard reading its data");
        Assert.Equal("yes", (await board.Page.Locator("#s-ready").TextContentAsync())?.Trim());
        Assert.StartsWith("embedded", (await board.Page.Locator("#s-cluster").TextContentAsync())?.Trim(), StringComparison.Ordinal);
        Assert.Equal("off", (await board.Page.Locator("#s-auth").TextContentAsync())?.Trim());

        await board.WaitForAsync("Number(document.getElementById('chart-ticks').dataset.samples) >= 3", "three samples charted");
        var first = await LatestAsync(board, "ticks");
        Assert.True(first.GetProperty("consumed").GetDouble() > 0, $"ticks chart: {first}");
        await board.WaitForAsync(
            "JSON.parse(document.getElementById('chart-sent').dataset.latest ?? '{}').quotes > 0", "a non-zero quote rate");
        Assert.True(await board.Page.Locator("#chart-ticks canvas").CountAsync() > 0, "no canvas drawn");

        // The charts move: later samples, other values.
        var samples = await board.Page.Locator("#chart-ticks").GetAttributeAsync("data-samples");
        await board.WaitForAsync($"document.getElementById('chart-ticks').dataset.samples !== '{samples}'", "a new sample");
        await board.WaitForAsync(
            $"document.getElementById('chart-ticks').dataset.latest !== {JsonSerializer.Serialize(first.GetRawText())}", "the tick rate to change");
        var screenshot = await board.ScreenshotAsync("dashboard.png");
        output.WriteLine($"Screenshot: {screenshot}");
        Assert.Empty(board.PageErrors);
        Assert.Empty(board.ConsoleErrors);

        // A restart: the page says the data are unreachable, then live again, with no script error.
        await client.Socket.CloseQuietlyAsync();
        await board.StopGatewayAsync();
        await board.WaitForAsync("document.getElementById('s-data').textContent.startsWith('unreachable')", "the outage shown");
        await board.StartGatewayAsync();
        await board.WaitForAsync("document.getElementById('s-data').textContent === 'live'", "the dashboard live again", TimeSpan.FromSeconds(30));
        var samplesAfter = await board.Page.Locator("#chart-ticks").GetAttributeAsync("data-samples");
        await board.WaitForAsync($"document.getElementById('chart-ticks').dataset.samples !== '{samplesAfter}'", "samples again after the restart");

        // Failed fetches while the gateway was down are logged by the browser itself; scripts must not throw.
        Assert.Empty(board.PageErrors);
    }

    private static async Task<JsonElement> LatestAsync(BoardHarness board, string chart)
    {
        var json = await board.Page.Locator($"#chart-{chart}").GetAttributeAsync("data-latest");
        return JsonDocument.Parse(json ?? "{}").RootElement.Clone();
    }
}
