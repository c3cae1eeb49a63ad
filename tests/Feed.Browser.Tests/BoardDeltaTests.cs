using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Xunit.Abstractions;

namespace MarketStream.Browser.Tests;

/// <summary>
/// The board asks for changed-fields-only quotes (and Chromium negotiates permessage-deflate by itself): whatever
/// the wire leaves out, the row shows the quote the gateway holds, over WebSocket and over SSE.
/// </summary>
public sealed class BoardDeltaTests(ITestOutputHelper output)
{
    private static readonly string[] Prices = ["bid", "ask", "last"];
    private static readonly string[] Sizes = ["bidSize", "askSize", "lastSize"];

    [Theory]
    [InlineData("", "/ws?")]
    [InlineData("?transport=sse", "/sse?")]
    public async Task With_deltas_the_row_shows_exactly_the_quote_of_the_quote_API(string query, string stream)
    {
        // A slow market, so the row and the API can be caught at the same seq.
        await using var board = await BoardHarness.StartAsync(("Feed:Simulator:TicksPerSecond", 50));
        var urls = new ConcurrentBag<string>();
        board.Page.WebSocket += (_, ws) => urls.Add(ws.Url);
        board.Page.Request += (_, request) => urls.Add(request.Url);
        await board.OpenLiveAsync(query);
        Assert.Contains(urls, u => u.Contains(stream, StringComparison.Ordinal) && u.Contains("delta=true", StringComparison.Ordinal));

        var compared = 0;
        var deadline = DateTime.UtcNow + (2 * BoardHarness.StepTimeout);
        while (compared < 3)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the row and the API never showed the same seq ({compared} matches); status: {await board.StatusLineAsync()}");
            var before = await ApiAsync(board);
            var row = await RowAsync(board, "AAPL");
            var after = await ApiAsync(board);
            var seq = before.GetProperty("seq").GetInt64();
            if (after.GetProperty("seq").GetInt64() != seq || row["seq"] != seq.ToString(CultureInfo.InvariantCulture))
            {
                await Task.Delay(40);
                continue;
            }

            foreach (var field in Prices)
            {
                Assert.Equal(before.GetProperty(field).GetDecimal(), decimal.Parse(row[field], CultureInfo.InvariantCulture));
            }

            foreach (var field in Sizes)
            {
                Assert.Equal(before.GetProperty(field).GetInt64(), long.Parse(row[field], NumberStyles.AllowThousands, CultureInfo.InvariantCulture));
            }

            Assert.Equal(before.GetProperty("venue").GetString(), row["venue"]);
            output.WriteLine($"seq {seq}: {string.Join(", ", row.Select(kv => $"{kv.Key}={kv.Value}"))}");
            compared++;
            await Task.Delay(300);
        }

        Assert.Empty(board.PageErrors);
        Assert.Empty(board.ConsoleErrors);
    }

    private static async Task<JsonElement> ApiAsync(BoardHarness board) =>
        JsonDocument.Parse(await board.Gateway!.Http.GetStringAsync("/api/quotes/AAPL")).RootElement.Clone();

    /// <summary>Every cell of the row, read in one evaluation: the page cannot redraw the row halfway through.</summary>
    private static Task<Dictionary<string, string>> RowAsync(BoardHarness board, string symbol) =>
        board.Page.EvaluateAsync<Dictionary<string, string>>(
            """
            (symbol) => {
              const cells = {};
              for (const td of document.querySelectorAll(`#rows tr[data-symbol="${symbol}"] td[data-field]`)) cells[td.dataset.field] = td.textContent.trim();
              return cells;
            }
            """,
            symbol);
}
