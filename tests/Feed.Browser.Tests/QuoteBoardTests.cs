using Xunit.Abstractions;

namespace MarketStream.Browser.Tests;

/// <summary>
/// The quote board served at <c>/</c>, in a real headless Chromium against a real gateway: live prices over
/// WebSocket, the watchlist, the settings round trip, reconnecting across a gateway restart, and SSE.
/// </summary>
public sealed class QuoteBoardTests(ITestOutputHelper output)
{
    private static readonly string[] DefaultWatchlist = ["AAPL", "MSFT", "NVDA", "EUR/USD"];

    [Fact]
    public async Task Board_loads_cleanly_and_an_added_symbol_shows_moving_prices()
    {
        await using var board = await BoardHarness.StartAsync();
        await board.GotoAsync();
        await board.WaitForStateAsync("connected");
        Assert.Equal("WebSocket", (await board.Page.Locator("#transport").TextContentAsync())?.Trim());

        // Fresh storage: the default watchlist, in order.
        Assert.Equal(DefaultWatchlist, await WatchlistAsync(board));

        // Suggestions come from GET /api/symbols.
        await board.WaitForAsync("document.querySelectorAll('#symbol-suggestions option').length >= 4", "symbol suggestions");

        // Remove NVDA, then add it back through the input, the way a user would (lower case on purpose).
        await board.Row("NVDA").Locator("button.remove").ClickAsync();
        await board.WaitForAsync("!document.querySelector('#rows tr[data-symbol=\"NVDA\"]')", "NVDA row removed");
        await board.Page.Locator("#add-symbol").FillAsync("nvda");
        await board.Page.Locator("#add-symbol").PressAsync("Enter");
        await board.WaitForAsync("!!document.querySelector('#rows tr[data-symbol=\"NVDA\"]')", "NVDA row added");
        Assert.Equal(["AAPL", "MSFT", "EUR/USD", "NVDA"], await WatchlistAsync(board));

        var bids = await board.WaitForMovingPricesAsync("NVDA", "bid");
        output.WriteLine($"NVDA bids seen: {string.Join(", ", bids)}");
        await board.WaitForMovingPricesAsync("NVDA", "last");
        await board.WaitForMovingPricesAsync("EUR/USD", "ask");

        // Derived columns are filled in and the age ticks.
        foreach (var field in new[] { "spread", "change", "changePct", "bidSize", "askSize", "seq" })
        {
            var text = (await board.Cell("NVDA", field).TextContentAsync())?.Trim();
            Assert.False(string.IsNullOrEmpty(text) || text == "\u2014", $"NVDA {field} is empty");
        }

        Assert.Matches(@"^\d+(\.\d)?[smh]$", (await board.Cell("NVDA", "age").TextContentAsync())?.Trim());

        // Settings round trip: the selects send configure and the page shows the server's configured reply.
        await board.Page.Locator("#policy").SelectOptionAsync("drop-oldest");
        await board.WaitForAsync("document.getElementById('configured').textContent.includes('drop-oldest') && document.getElementById('configured').dataset.state === 'ok'", "configured drop-oldest");
        await board.Page.Locator("#throttle").SelectOptionAsync("500");
        await board.WaitForAsync("document.getElementById('configured').textContent.startsWith('500 ms') && document.getElementById('configured').dataset.state === 'ok'", "configured 500 ms");
        await board.Page.Locator("#policy").SelectOptionAsync("conflate");
        await board.Page.Locator("#throttle").SelectOptionAsync("250");
        await board.WaitForAsync("document.getElementById('configured').textContent === '250 ms \u00b7 conflate'", "configured back to 250 ms conflate");

        // The watchlist survives a reload, and the board comes back live.
        await board.Page.ReloadAsync().WaitAsync(BoardHarness.StepTimeout);
        await board.WaitForStateAsync("connected");
        Assert.Equal(["AAPL", "MSFT", "EUR/USD", "NVDA"], await WatchlistAsync(board));
        foreach (var symbol in new[] { "AAPL", "MSFT", "EUR/USD", "NVDA" })
        {
            await board.WaitForMovingPricesAsync(symbol, "bid", distinct: 2);
        }

        await board.WaitForAsync("Number(document.getElementById('conflated').textContent.replace(/,/g, '')) > 0", "conflated counter moving");
        await Task.Delay(400); // let a frame or two flash, so the picture shows the board as it is used
        var screenshot = await board.ScreenshotAsync("quote-board.png");
        output.WriteLine($"Screenshot: {screenshot}");

        Assert.Empty(board.PageErrors);
        Assert.Empty(board.ConsoleErrors);
    }

    [Fact]
    public async Task Board_shows_reconnecting_while_the_gateway_is_down_and_recovers_without_a_reload()
    {
        await using var board = await BoardHarness.StartAsync();
        await board.OpenLiveAsync();
        await board.Page.EvaluateAsync("() => { window.__beforeRestart = performance.timeOrigin; }").WaitAsync(BoardHarness.StepTimeout);

        await board.StopGatewayAsync();
        await board.WaitForStateAsync("reconnecting", TimeSpan.FromSeconds(15));
        output.WriteLine($"While down: {await board.StatusLineAsync()}");

        // Stay down long enough for a few failed attempts, so the backoff is exercised.
        await Eventually.Throughout(
            async () => await board.Page.Locator("#conn-state").GetAttributeAsync("data-state") == "reconnecting",
            "the board saying reconnecting while the gateway is down", TimeSpan.FromSeconds(2));

        await board.StartGatewayAsync();
        // Backoff is capped at 10 s (full jitter), so the page is back within that after the gateway is.
        await board.WaitForStateAsync("connected", TimeSpan.FromSeconds(25));
        var updatesAtReconnect = int.Parse(await board.Row("AAPL").GetAttributeAsync("data-updates") ?? "0", System.Globalization.CultureInfo.InvariantCulture);

        // Live again: the restarted gateway's quotes are shown (its seq starts over with its new embedded
        // broker; the board must not freeze on the old seq), and the page was never reloaded.
        await board.WaitForAsync(
            $"Number(document.querySelector('#rows tr[data-symbol=\"AAPL\"]').dataset.updates) > {updatesAtReconnect + 3}",
            "AAPL updates after the restart");
        await board.WaitForMovingPricesAsync("AAPL");
        await board.WaitForMovingPricesAsync("EUR/USD");
        Assert.True(await board.Page.EvaluateAsync<bool>("() => window.__beforeRestart === performance.timeOrigin").WaitAsync(BoardHarness.StepTimeout), "the page was reloaded");
        output.WriteLine($"After restart: {await board.StatusLineAsync()}");

        // Connection failures while the gateway was down are logged by the browser itself; scripts must not throw.
        Assert.Empty(board.PageErrors);
    }

    [Fact]
    public async Task With_authentication_on_the_board_streams_with_its_token_kept_out_of_the_address_bar_and_the_socket_URL()
    {
        const string key = "browser-test-signing-key-of-at-least-32-bytes";
        (string Key, object Value)[] auth = [("Feed:Auth:Enabled", "true"), ("Feed:Auth:Issuer", "board-tests"), ("Feed:Auth:Audience", "marketstream"), ("Feed:Auth:SigningKey", key)];
        await using var board = await BoardHarness.StartAsync(auth);
        var output = new StringWriter();
        var configuration = Microsoft.Extensions.Configuration.MemoryConfigurationBuilderExtensions
            .AddInMemoryCollection(new Microsoft.Extensions.Configuration.ConfigurationBuilder(), auth.Select(a => KeyValuePair.Create(a.Key, (string?)a.Value.ToString())))
            .Build();
        Assert.Equal(0, MarketStream.Gateway.Security.DevTokenCommand.Run(["token", "--symbols", "AAPL,EUR/USD"], configuration, output, TextWriter.Null));

        var token = output.ToString().Trim();
        var sockets = new System.Collections.Concurrent.ConcurrentQueue<string>();
        board.Page.WebSocket += (_, ws) => sockets.Enqueue(ws.Url);

        await board.OpenLiveAsync($"?access_token={token}");
        await board.WaitForMovingPricesAsync("EUR/USD", "ask");

        // The token left the address bar (and the history entry) as soon as the page read it, and the WebSocket
        // carried it as a subprotocol, not in its URL.
        Assert.DoesNotContain("access_token", board.Page.Url, StringComparison.Ordinal);
        Assert.DoesNotContain("access_token", await board.Page.EvaluateAsync<string>("() => location.href"), StringComparison.Ordinal);
        Assert.NotEmpty(sockets);
        Assert.All(sockets, url => Assert.DoesNotContain(token, url, StringComparison.Ordinal));

        // The symbol list came from /api/symbols with the token in a header: the token's two symbols only.
        await board.WaitForAsync("document.querySelectorAll('#symbol-suggestions option').length === 2", "symbol suggestions from the API");
        Assert.Empty(board.PageErrors);

        // The SSE fallback still authenticates (EventSource can carry the token in its URL only), and the address
        // bar is clean there too.
        await board.GotoAsync($"?transport=sse&access_token={token}");
        await board.WaitForStateAsync("connected");
        Assert.Equal("SSE", (await board.Page.Locator("#transport").TextContentAsync())?.Trim());
        await board.WaitForMovingPricesAsync("AAPL");
        Assert.DoesNotContain("access_token", board.Page.Url, StringComparison.Ordinal);
        Assert.Contains("transport=sse", board.Page.Url, StringComparison.Ordinal);
        Assert.Empty(board.PageErrors);
    }

    [Fact]
    public async Task The_board_says_when_the_feed_is_stale_and_clears_it_when_ticks_flow_again()
    {
        await using var board = await BoardHarness.StartAsync(("Feed:Kafka:StaleAfterSeconds", 2), ("Feed:Kafka:UnreachableGraceSeconds", 60));
        await board.OpenLiveAsync();
        Assert.True(await board.Page.Locator("#feed-state").IsHiddenAsync());

        // The outage is the point of the test: the broker monitor reports it as an error.
        board.Gateway!.ExpectErrors(e => e.StartsWith("MarketStream.Ingest.BrokerMonitor: Kafka brokers not answering", StringComparison.Ordinal));
        var cluster = board.Gateway.Get<MarketStream.Ingest.KafkaConnection>().Embedded!;
        cluster.SetAllBrokersDown();
        await board.WaitForAsync("!document.querySelector('#feed-state').hidden", "the stale feed shown", TimeSpan.FromSeconds(20));
        Assert.StartsWith("Feed stale since", (await board.Page.Locator("#feed-label").TextContentAsync())?.Trim(), StringComparison.Ordinal);

        cluster.SetAllBrokersUp();
        await board.WaitForAsync("document.querySelector('#feed-state').hidden", "the stale feed cleared", TimeSpan.FromSeconds(30));
        await board.WaitForMovingPricesAsync("AAPL");
        Assert.Empty(board.PageErrors);
    }

    [Fact]
    public async Task Clicking_a_row_opens_its_live_chart_whose_last_point_is_the_price_the_row_shows()
    {
        await using var board = await BoardHarness.StartAsync();
        await board.OpenLiveAsync();

        await board.Row("AAPL").Locator("td[data-field=\"symbol\"]").ClickAsync();
        await board.WaitForAsync("!document.getElementById('chart-panel').hidden && document.getElementById('chart').dataset.symbol === 'AAPL'", "the AAPL chart open");
        Assert.Equal("AAPL", (await board.Page.Locator("#chart-symbol").TextContentAsync())?.Trim());
        await board.WaitForAsync("Number(document.getElementById('chart').dataset.points) >= 3", "the chart drawing a point a second", TimeSpan.FromSeconds(30));
        Assert.True(await board.Page.Locator("#chart canvas").CountAsync() > 0, "no canvas drawn");

        // Row and chart are drawn in the same animation frame: read both in one task of the page, several times
        // while prices move.
        for (var i = 0; i < 5; i++)
        {
            var shown = await board.Page.EvaluateAsync<string[]>(
                """
                () => {
                  const row = document.querySelector('#rows tr[data-symbol="AAPL"]');
                  const chart = document.getElementById('chart').dataset;
                  return [row.querySelector('td[data-field="bid"]').textContent, chart.lastBid,
                          row.querySelector('td[data-field="ask"]').textContent, chart.lastAsk];
                }
                """).WaitAsync(BoardHarness.StepTimeout);
            Assert.Equal(Price(shown[0]), Price(shown[1]));
            Assert.Equal(Price(shown[2]), Price(shown[3]));
            await board.WaitForAsync(
                $"document.querySelector('#rows tr[data-symbol=\"AAPL\"] td[data-field=\"bid\"]').textContent !== '{shown[0]}'", "the AAPL bid to move");
        }

        // A window tall enough for the table and the chart, for the README's picture.
        await board.Page.SetViewportSizeAsync(1360, 620).WaitAsync(BoardHarness.StepTimeout);
        await board.WaitForAsync("document.getElementById('chart').clientHeight > 200", "the chart laid out");
        output.WriteLine($"Screenshot: {await board.ScreenshotAsync("quote-board-chart.png")}");

        // Closing it hides the panel; removing the charted symbol would too.
        await board.Page.Locator("#chart-close").ClickAsync();
        await board.WaitForAsync("document.getElementById('chart-panel').hidden", "the chart closed");
        Assert.Empty(board.PageErrors);
        Assert.Empty(board.ConsoleErrors);
    }

    private static decimal Price(string text) => decimal.Parse(text.Trim(), System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task Board_shows_live_prices_over_sse_when_the_transport_is_forced()
    {
        await using var board = await BoardHarness.StartAsync();
        await board.GotoAsync("?transport=sse");
        await board.WaitForStateAsync("connected");
        Assert.Equal("SSE", (await board.Page.Locator("#transport").TextContentAsync())?.Trim());

        await board.WaitForMovingPricesAsync("AAPL");
        await board.WaitForMovingPricesAsync("EUR/USD", "ask");

        // Changing the watchlist under SSE reopens the stream with the new symbol list.
        await board.Row("MSFT").Locator("button.remove").ClickAsync();
        await board.WaitForAsync("!document.querySelector('#rows tr[data-symbol=\"MSFT\"]')", "MSFT row removed");
        await board.Page.Locator("#add-symbol").FillAsync("MSFT");
        await board.Page.Locator("#add-symbol").PressAsync("Enter");
        await board.WaitForMovingPricesAsync("MSFT");
        await board.WaitForStateAsync("connected");
        Assert.Equal("SSE", (await board.Page.Locator("#transport").TextContentAsync())?.Trim());

        Assert.Empty(board.PageErrors);
        Assert.Empty(board.ConsoleErrors);
    }

    [Fact]
    public async Task Board_falls_back_to_sse_when_websocket_upgrades_fail()
    {
        await using var board = await BoardHarness.StartAsync();

        // A network that breaks WebSocket upgrades, as some proxies do: every WebSocket the page opens is
        // pointed at a path that answers 404 to the upgrade, so it fails the way a blocked one does.
        await board.Page.Context.AddInitScriptAsync("""
            (() => {
              const Native = window.WebSocket;
              window.WebSocket = class extends Native {
                constructor(url, protocols) {
                  const u = new URL(url);
                  u.pathname = '/blocked-by-proxy';
                  super(u, protocols);
                }
              };
            })();
            """).WaitAsync(BoardHarness.StepTimeout);

        await board.GotoAsync();
        await board.WaitForAsync("document.getElementById('transport').textContent === 'SSE'", "fallback to SSE", TimeSpan.FromSeconds(30));
        await board.WaitForStateAsync("connected");
        await board.WaitForMovingPricesAsync("MSFT");
        Assert.True(await board.Page.Locator("#policy").IsDisabledAsync(), "under SSE the policy is always conflate");
        Assert.Empty(board.PageErrors);
    }

    private static async Task<string[]> WatchlistAsync(BoardHarness board) =>
        await board.Page.EvaluateAsync<string[]>("() => [...document.querySelectorAll('#rows tr[data-symbol]')].map(r => r.dataset.symbol)")
            .WaitAsync(BoardHarness.StepTimeout);
}
