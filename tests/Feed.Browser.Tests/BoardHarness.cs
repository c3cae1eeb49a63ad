using System.Net;
using System.Net.Sockets;
using MarketStream.Testing;
using Microsoft.Playwright;

namespace MarketStream.Browser.Tests;

/// <summary>
/// One browser test's world: the tests' shared <see cref="GatewayHost"/> (Kestrel on 127.0.0.1, embedded broker and
/// simulator) on a port of its own that can be stopped and started again on the same port, and a headless Debian Chromium driven
/// by Playwright, with the page's console errors and uncaught exceptions collected.
/// </summary>
internal sealed class BoardHarness : IAsyncDisposable
{
    /// <summary>Upper bound for any single step; every await in these tests is bounded.</summary>
    public static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(30);

    private const string ChromiumPath = "/usr/bin/chromium";

    private readonly List<string> consoleErrors = [];
    private readonly List<string> pageErrors = [];
    private IPlaywright? playwright;
    private IBrowser? browser;

    private BoardHarness(int port)
    {
        Port = port;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
    }

    public int Port { get; }

    public Uri BaseAddress { get; }

    /// <summary>The gateway while it runs; a restart builds a new one on the same port.</summary>
    public GatewayHost? Gateway { get; private set; }

    public IPage Page { get; private set; } = null!;

    public IReadOnlyList<string> ConsoleErrors
    {
        get
        {
            lock (consoleErrors)
            {
                return [.. consoleErrors];
            }
        }
    }

    public IReadOnlyList<string> PageErrors
    {
        get
        {
            lock (pageErrors)
            {
                return [.. pageErrors];
            }
        }
    }

    /// <summary>Gateway settings added to the defaults.</summary>
    private (string Key, object Value)[] extraSettings = [];

    public static async Task<BoardHarness> StartAsync(params (string Key, object Value)[] gatewaySettings)
    {
        var harness = new BoardHarness(FreePort()) { extraSettings = gatewaySettings };
        try
        {
            await harness.StartGatewayAsync();
            await harness.LaunchBrowserAsync();
            return harness;
        }
        catch
        {
            await harness.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// A port free right now. The restart test needs to start a second gateway on the same port, so the
    /// port cannot be Kestrel's own choice (port 0) and is picked here.
    /// </summary>
    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    public async Task StartGatewayAsync()
    {
        if (Gateway is not null)
        {
            throw new InvalidOperationException("The gateway is already running.");
        }

        Gateway = await GatewayHost.StartOnPortAsync(Port,
        [
            ("Feed:Simulator:Symbols", "AAPL,MSFT,NVDA,EUR/USD"),
            ("Feed:Simulator:TicksPerSecond", 200),
            .. extraSettings,
        ]).WaitAsync(StepTimeout);
    }

    /// <summary>
    /// Stops the gateway (with the page still connected, the drain closes its WebSocket with 1001 first) and fails
    /// the test if it logged an Error the test did not expect.
    /// </summary>
    public async Task StopGatewayAsync()
    {
        if (Gateway is not { } gateway)
        {
            return;
        }

        Gateway = null;
        await gateway.DisposeAsync().AsTask().WaitAsync(StepTimeout + StepTimeout);
    }

    private async Task LaunchBrowserAsync()
    {
        Assert.True(File.Exists(ChromiumPath), $"{ChromiumPath} is missing: apt-get install -y chromium (never 'playwright install').");
        playwright = await Playwright.CreateAsync().WaitAsync(StepTimeout);
        browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Timeout = (float)StepTimeout.TotalMilliseconds,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        }).WaitAsync(StepTimeout);

        // A fresh context per test: empty localStorage, so the page starts from its default watchlist.
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 1360, Height = 290 },
            DeviceScaleFactor = 2, // a crisp picture for the README; the page does not care
            ColorScheme = ColorScheme.Dark,
        }).WaitAsync(StepTimeout);
        Page = await context.NewPageAsync().WaitAsync(StepTimeout);
        Page.SetDefaultTimeout((float)StepTimeout.TotalMilliseconds);
        Page.SetDefaultNavigationTimeout((float)StepTimeout.TotalMilliseconds);
        Page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (consoleErrors)
                {
                    consoleErrors.Add($"{message.Text} ({message.Location})");
                }
            }
        };
        Page.PageError += (_, error) =>
        {
            lock (pageErrors)
            {
                pageErrors.Add(error);
            }
        };
    }

    public async Task GotoAsync(string pathAndQuery = "")
    {
        var response = await Page.GotoAsync(new Uri(BaseAddress, pathAndQuery).ToString()).WaitAsync(StepTimeout);
        Assert.NotNull(response);
        Assert.True(response.Ok, $"GET {pathAndQuery} answered {response.Status}");
    }

    public ILocator Row(string symbol) => Page.Locator($"#rows tr[data-symbol=\"{symbol}\"]");

    public ILocator Cell(string symbol, string field) => Row(symbol).Locator($"td[data-field=\"{field}\"]");

    /// <summary>Waits until the connection state shown in the status line is <paramref name="state"/>.</summary>
    /// <summary>Opens the board (with <paramref name="pathAndQuery"/>) and waits until it is live and AAPL's prices move.</summary>
    public async Task OpenLiveAsync(string pathAndQuery = "")
    {
        await GotoAsync(pathAndQuery);
        await WaitForStateAsync("connected");
        await WaitForMovingPricesAsync("AAPL");
    }

    public Task WaitForStateAsync(string state, TimeSpan? timeout = null) =>
        WaitForAsync($"document.getElementById('conn-state').dataset.state === '{state}'", $"connection state '{state}'", timeout);

    public async Task WaitForAsync(string expression, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? StepTimeout;
        try
        {
            await Page.WaitForFunctionAsync(expression, null, new PageWaitForFunctionOptions { Timeout = (float)limit.TotalMilliseconds, PollingInterval = 50 })
                .WaitAsync(limit + TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is TimeoutException or PlaywrightException)
        {
            Assert.Fail($"Timed out after {limit.TotalSeconds} s waiting for {what}. Status line: {await StatusLineAsync()}");
        }
    }

    /// <summary>
    /// Waits until the row of <paramref name="symbol"/> has shown at least <paramref name="distinct"/> different
    /// values in <paramref name="field"/>: live prices that move, not a snapshot that sits there.
    /// </summary>
    public async Task<IReadOnlyCollection<string>> WaitForMovingPricesAsync(string symbol, string field = "bid", int distinct = 3, TimeSpan? timeout = null)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var deadline = DateTime.UtcNow + (timeout ?? StepTimeout);
        while (true)
        {
            var text = (await Cell(symbol, field).TextContentAsync(new LocatorTextContentOptions { Timeout = 5_000 }).WaitAsync(TimeSpan.FromSeconds(10)))?.Trim();
            if (!string.IsNullOrEmpty(text) && text != "\u2014" && decimal.TryParse(text, System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out _))
            {
                seen.Add(text);
            }

            if (seen.Count >= distinct)
            {
                return seen;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{symbol} {field} showed only [{string.Join(", ", seen)}]; status line: {await StatusLineAsync()}");
            await Task.Delay(100);
        }
    }

    public async Task<string> StatusLineAsync()
    {
        try
        {
            return await Page.EvaluateAsync<string>(
                "() => ['conn-state', 'conn-detail', 'transport', 'configured', 'frames', 'quotes', 'notice'].map(id => id + '=' + (document.getElementById(id)?.textContent ?? '?').trim()).join(' ')")
                .WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is TimeoutException or PlaywrightException)
        {
            return $"(unreadable: {ex.Message})";
        }
    }

    /// <summary>Saves a screenshot under the test output's TestResults folder and returns its full path.</summary>
    public async Task<string> ScreenshotAsync(string fileName)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "TestResults", fileName);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path }).WaitAsync(StepTimeout);
        return path;
    }

    /// <summary>
    /// Closes the browser before stopping the gateway: the other way round, the host's shutdown would wait
    /// for the page's open WebSocket to finish its drain and close handshake.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (browser is not null)
            {
                await browser.CloseAsync().WaitAsync(StepTimeout);
                await browser.DisposeAsync().AsTask().WaitAsync(StepTimeout);
            }
        }
        finally
        {
            playwright?.Dispose();
            await StopGatewayAsync();
        }
    }
}
