using System.CommandLine;
using System.Globalization;
using MarketStream.Ingest;
using MarketStream.Ingest.Simulation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// Feeds simulated ticks into a Kafka cluster. With --bootstrap-servers it writes to that cluster; without,
// it starts the embedded in-memory broker in this process and logs its address, so a gateway (or kcat) in
// another process can consume it. Any configuration setting also works in its command-line form,
// --Section:Key=value (--Feed:Simulator:Seed=7, --Logging:LogLevel:Default=Warning).
//
// For programs that start it (the load harness): it prints one machine-readable line "BOOTSTRAP=<host:port,…>"
// on stdout, flushed, once the cluster is known; and with --exit-on-stdin-close it stops when its stdin closes,
// so it never outlives a parent that dies without killing it. That is opt-in: a simulator started in the
// background with stdin on /dev/null must keep running. With that option and the embedded broker, the parent
// can also take the broker away and bring it back by writing a line to stdin: "brokers down" or "brokers up"
// (every broker of the cluster stops answering, or answers again), each acknowledged by a line
// "BROKERS=down" or "BROKERS=up" on stdout. Any other line is refused on stderr and changes nothing.
var bootstrapServers = new Option<string>("--bootstrap-servers") { Description = "host:port,… of the cluster to feed; without it, an embedded broker starts in this process" };
var topic = new Option<string>("--topic") { Description = "the tick topic (default market.ticks)" };
var rate = new Option<int?>("--rate") { Description = "ticks per second over the whole universe (default 2000)" };
var symbols = new Option<string>("--symbols") { Description = "comma-separated symbols to simulate (default: the built-in universe)" };
var maxTicks = new Option<long?>("--max-ticks") { Description = "stop after this many ticks" };
var seed = new Option<int?>("--seed") { Description = "random seed, for a repeatable market" };
var partitions = new Option<int?>("--partitions") { Description = "partitions of the embedded broker's topic (default 6)" };
var brokers = new Option<int?>("--brokers") { Description = "brokers of the embedded cluster (default 1)" };
var exitOnStdinClose = new Option<bool>("--exit-on-stdin-close") { Description = "stop when stdin closes (for a parent process that starts this one)" };

var root = new RootCommand("Feeds simulated market ticks into a Kafka cluster, or into an embedded broker it starts.")
{
    bootstrapServers, topic, rate, symbols, maxTicks, seed, partitions, brokers, exitOnStdinClose,
};

// Settings in their configuration form go to configuration; everything else is parsed here, and anything this
// command does not know is an error, not silently ignored.
var settings = args.Where(CommandLineSettings.IsSetting).ToArray();
root.SetAction((parse, ct) =>
{
    var chosen = new Dictionary<string, string?>();
    void Set<T>(Option<T> option, string key)
    {
        if (parse.GetResult(option) is { Implicit: false } && parse.GetValue(option) is { } value)
        {
            chosen[key] = Convert.ToString(value, CultureInfo.InvariantCulture);
        }
    }

    Set(bootstrapServers, "Feed:Kafka:BootstrapServers");
    Set(topic, "Feed:Kafka:Topic");
    Set(rate, "Feed:Simulator:TicksPerSecond");
    Set(symbols, "Feed:Simulator:Symbols");
    Set(maxTicks, "Feed:Simulator:MaxTicks");
    Set(seed, "Feed:Simulator:Seed");
    Set(partitions, "Feed:Embedded:Partitions");
    Set(brokers, "Feed:Embedded:Brokers");
    return RunAsync(settings, chosen, parse.GetValue(exitOnStdinClose), ct);
});

return await root.Parse(args.Where(a => !CommandLineSettings.IsSetting(a)).ToArray()).InvokeAsync().ConfigureAwait(false);

static async Task<int> RunAsync(string[] settings, Dictionary<string, string?> chosen, bool exitOnStdinClose, CancellationToken ct)
{
    var builder = Host.CreateApplicationBuilder(settings);
    builder.Configuration.AddInMemoryCollection(chosen);
    builder.Configuration.AddListSettings(builder.Configuration);
    builder.Services.AddMarketSimulator(builder.Configuration);

    // This command exists to simulate: on whatever cluster it is pointed at.
    builder.Services.PostConfigure<SimulatorOptions>(o => o.Enabled = true);

    using var host = builder.Build();
    await host.StartAsync(ct).ConfigureAwait(false);

    var simulator = host.Services.GetRequiredService<MarketSimulator>();
    var connection = host.Services.GetRequiredService<KafkaConnection>();
    var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
    await Console.Out.WriteLineAsync($"BOOTSTRAP={connection.BootstrapServers}").ConfigureAwait(false);
    await Console.Out.FlushAsync(ct).ConfigureAwait(false);

    if (exitOnStdinClose)
    {
        // A dedicated thread: Console.In has no cancellable read, and this one lives as long as the process.
        new Thread(() =>
        {
            while (Console.In.ReadLine() is { } command)
            {
                Control(command.Trim(), connection);
            }

            lifetime.StopApplication();
        })
        { IsBackground = true, Name = "stdin-watch" }.Start();
    }

    var finished = simulator.ExecuteTask ?? Task.CompletedTask;
    if (await Task.WhenAny(finished, host.WaitForShutdownAsync(ct)).ConfigureAwait(false) == finished && connection.Embedded is null)
    {
        // --max-ticks reached on a real cluster: nothing more to do. With the embedded broker the process
        // stays up, since consumers elsewhere still read from the broker it hosts.
        lifetime.StopApplication();
    }

    await host.WaitForShutdownAsync(CancellationToken.None).ConfigureAwait(false);
    return 0;
}

// One line of the parent's on stdin: a broker fault to inject into the embedded cluster.
static void Control(string command, KafkaConnection connection)
{
    if (command.Length == 0)
    {
        return;
    }

    if (command is not ("brokers down" or "brokers up"))
    {
        Console.Error.WriteLine($"unknown command '{command}' on stdin: 'brokers down' or 'brokers up'");
        return;
    }

    if (connection.Embedded is not { } cluster)
    {
        Console.Error.WriteLine($"'{command}' needs the embedded broker; this simulator feeds {connection.BootstrapServers}");
        return;
    }

    var down = command == "brokers down";
    if (down)
    {
        cluster.SetAllBrokersDown();
    }
    else
    {
        cluster.SetAllBrokersUp();
    }

    Console.Out.WriteLine(down ? "BROKERS=down" : "BROKERS=up");
    Console.Out.Flush();
}
