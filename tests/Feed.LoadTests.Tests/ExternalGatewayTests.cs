using MarketStream.LoadTests;

namespace MarketStream.LoadTests.Tests;

/// <summary>
/// The parts that let the harness measure gateways it did not build: the options, where a <c>--target</c> answers,
/// the process tree a shell command becomes (what it costs, and that all of it is stopped), and the comparison.
/// </summary>
public sealed class ExternalGatewayTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private readonly string logs = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "marketstream-loadtests", $"tree-{Guid.NewGuid():N}")).FullName;

    [Fact]
    public void Gateway_options_are_read_into_the_settings()
    {
        var (command, _) = LoadHarness.Parse(["fanout", "--quick", "--gateway-command", "cd /opt/ref && node server.js"]);
        var (target, _) = LoadHarness.Parse(["latency", "--target", "ws://10.0.0.5:8080/ws", "--bootstrap-servers", "kafka-0:9092"]);
        var (compare, _) = LoadHarness.Parse(["soak", "--compare", "node server.js"]);

        Assert.Equal("cd /opt/ref && node server.js", command.GatewayCommand);
        Assert.Equal("ws://10.0.0.5:8080/ws", target.Target);
        Assert.Equal("kafka-0:9092", target.BootstrapServers);
        Assert.Null(target.GatewayCommand);
        Assert.Equal("node server.js", compare.Compare);
    }

    [Theory]
    [InlineData("fanout", "--target", "ws://127.0.0.1:1/ws")]
    [InlineData("fanout", "--target", "ftp://127.0.0.1:1/ws", "--bootstrap-servers", "b:9092")]
    [InlineData("fanout", "--target", "ws://127.0.0.1:1/ws", "--bootstrap-servers", "b:9092", "--gateway-command", "x")]
    [InlineData("fanout", "--target", "ws://127.0.0.1:1/ws", "--bootstrap-servers", "b:9092", "--compare", "x")]
    [InlineData("fanout", "--gateway-command", "x", "--compare", "y")]
    [InlineData("fanout", "--gateway-command", " ")]
    [InlineData("ingest", "--gateway-command", "x")]
    [InlineData("ingest", "--bootstrap-servers", "b:9092")]
    [InlineData("connections", "--compare", "x")]
    public void Combinations_that_cannot_run_are_refused_with_a_reason(params string[] args)
    {
        var ex = Assert.Throws<ArgumentException>(() => LoadHarness.Parse(args));
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Fact]
    public void Compare_doubles_the_time_limit_unless_one_is_given()
    {
        var preset = ScenarioSettings.Preset("fanout", quick: true).TimeLimitSeconds;

        Assert.Equal(2 * preset, LoadHarness.Parse(["fanout", "--quick", "--compare", "x"]).Settings.TimeLimitSeconds);
        Assert.Equal(30, LoadHarness.Parse(["fanout", "--quick", "--compare", "x", "--time-limit", "30"]).Settings.TimeLimitSeconds);
        Assert.Equal(preset, LoadHarness.Parse(["fanout", "--quick", "--gateway-command", "x"]).Settings.TimeLimitSeconds);
    }

    [Theory]
    [InlineData("ws://127.0.0.1:9000/ws", "http://127.0.0.1:9000/", "ws://127.0.0.1:9000/ws?throttleMs=0")]
    [InlineData("wss://feed.example/md/ws", "https://feed.example/md/", "wss://feed.example/md/ws?throttleMs=0")]
    [InlineData("http://127.0.0.1:9000", "http://127.0.0.1:9000/", "ws://127.0.0.1:9000/ws?throttleMs=0")]
    [InlineData("https://feed.example/md", "https://feed.example/md/", "wss://feed.example/md/ws?throttleMs=0")]
    public void A_target_gives_the_http_base_and_the_websocket_the_clients_open(string target, string http, string clientUrl)
    {
        var e = GatewayEndpoints.FromTarget(target);

        Assert.Equal(http, e.Http.ToString());
        // The clients add their query to the endpoint as a relative reference: the path must survive it.
        Assert.Equal(clientUrl, new Uri(e.WebSocket, "?throttleMs=0").ToString());
    }

    [Fact]
    public void Stat_line_gives_parent_state_cpu_reaped_children_and_start_time()
    {
        // utime 250 stime 50 cutime 30 cstime 20 (clock ticks), start time 9876, after a name with spaces and a ')'.
        var line = ProcStat.ParseStat("4242 (node (x) y) S 17 2 3 4 5 6 7 8 9 10 250 50 30 20 20 0 12 0 9876 0 0");

        Assert.Equal(new StatLine(4242, 17, 'S', 3.0, 0.5, 9876), line);
    }

    [Fact]
    public void A_tree_is_the_root_and_its_descendants_and_nothing_else()
    {
        StatLine P(int pid, int parent, char state = 'S') => new(pid, parent, state, pid, 0, pid);
        StatLine[] table =
        [
            P(1, 0), P(100, 1), P(101, 100), P(102, 101), P(103, 101), P(104, 100, 'Z'), P(105, 104),
            P(200, 1), P(201, 200),
        ];

        var tree = ProcessTree.Members(100, table);

        Assert.Equal(100, tree[0].Pid);
        Assert.Equal([100, 101, 102, 103], tree.Select(m => m.Pid).Order());
        Assert.Empty(ProcessTree.Members(999, table));
    }

    [Fact]
    public void A_trees_cpu_adds_each_members_own_and_its_reaped_childrens()
    {
        StatLine[] tree =
        [
            ProcStat.ParseStat("10 (sh) S 1 10 10 0 -1 0 0 0 0 0 1 2 300 100 20 0 1 0 500 0 0"),
            ProcStat.ParseStat("11 (node) R 10 10 10 0 -1 0 0 0 0 0 150 50 0 0 20 0 11 0 510 0 0"),
        ];

        // sh: 0.03 s own + 4 s of children it has waited for; node: 2 s.
        Assert.Equal(6.03, ProcessTree.CpuSeconds(tree), 6);
    }

    [Fact]
    public async Task A_shell_command_gets_the_broker_and_port_in_its_environment()
    {
        await using var child = ChildProcess.StartShell("env", "echo \"at $BOOTSTRAP on $PORT\"; sleep 30", LogPath(), new Dictionary<string, string>
        {
            ["BOOTSTRAP"] = "127.0.0.1:9092",
            ["PORT"] = "19103",
        });

        var line = await child.WaitForLineAsync(l => l.StartsWith("at ", StringComparison.Ordinal), Timeout, CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal("at 127.0.0.1:9092 on 19103", line);
    }

    [Fact]
    public async Task Stopping_a_command_kills_its_whole_tree_even_when_it_ignores_SIGTERM()
    {
        // The ignored SIGTERM is inherited by both sleeps: only the kill after the grace period ends them.
        await using var child = ChildProcess.StartShell("tree", "trap '' TERM; sleep 60 & sleep 60", LogPath(), new Dictionary<string, string>());
        var tree = await TreeOfAtLeastAsync(child, 3);

        await child.StopAsync(TimeSpan.FromMilliseconds(300)).WaitAsync(Timeout);

        Assert.All(tree, m => Assert.False(ProcessTree.IsRunning(m), $"pid {m.Pid} survived"));
    }

    [Fact]
    public async Task Stopping_a_command_whose_shell_died_still_reaches_the_children_it_left()
    {
        await using var child = ChildProcess.StartShell("orphans", "trap '' TERM; sleep 60 & sleep 60", LogPath(), new Dictionary<string, string>());
        var tree = await TreeOfAtLeastAsync(child, 3);

        // The shell dies alone: its children are re-parented, no longer below the root the harness started.
        Assert.Equal(0, NativeMethods.Kill(child.Pid, NativeMethods.SigKill));
        await Eventually.Holds(() => child.HasExited, "the gateway process to exit", Timeout);
        await child.StopAsync(TimeSpan.FromSeconds(2)).WaitAsync(Timeout);

        Assert.All(tree, m => Assert.False(ProcessTree.IsRunning(m), $"pid {m.Pid} survived"));
    }

    [Fact]
    public void Comparison_ratios_are_MarketStream_over_the_other_and_unknown_where_a_side_is()
    {
        var ours = new GatewayFigures("MarketStream", 400_000, 10_000, 1.2, 300, 40, 130);
        var theirs = new GatewayFigures("--compare", 400_000, 9_000, 0.6, 100, 45, 110);
        var comparison = new Comparison("node server.js", ours, theirs);

        Assert.Equal(3.0, ours.CpuPerMillionQuotes);
        Assert.Equal(2.0, comparison.Ratios.CpuPerMillionQuotes);
        Assert.Equal(Math.Round(130.0 / 110, 3), comparison.Ratios.P99);
        Assert.Contains("| **MarketStream / other** | 1 | 1.111 | 2 | **2** |", comparison.Markdown("versus/report.md"), StringComparison.Ordinal);

        var unknown = new Comparison("x", ours, theirs with { CpuCores = null, QuotesPerSecond = 0 });
        Assert.Null(unknown.Other.CpuPerMillionQuotes);
        Assert.Null(unknown.Ratios.CpuCores);
        Assert.Null(unknown.Ratios.QuotesPerSecond);
        Assert.Contains("| --compare | 0 | 9,000 | n/a | n/a |", unknown.Markdown("versus/report.md"), StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(logs, recursive: true);

    private string LogPath() => Path.Combine(logs, $"{Guid.NewGuid():N}.log");

    private static async Task<List<StatLine>> TreeOfAtLeastAsync(ChildProcess child, int count)
    {
        List<StatLine> tree = [];
        await Eventually.Holds(() => (tree = child.Tree()).Count >= count, $"{count} processes in the tree", Timeout);
        return tree;
    }
}
