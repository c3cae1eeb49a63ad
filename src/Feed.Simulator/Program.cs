using MarketStream.Ingest;
using MarketStream.Ingest.Simulation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// Feeds simulated ticks into a Kafka cluster. With --bootstrap-servers it writes to that cluster; without,
// it starts the embedded in-memory broker in this process and logs its address, so a gateway (or kcat) in
// another process can consume it. Every Feed:Simulator / Feed:Kafka / Feed:Embedded setting works too.
//
// For programs that start it (the load harness): it prints one machine-readable line "BOOTSTRAP=<host:port,…>"
// on stdout, flushed, once the cluster is known; and with --exit-on-stdin-close it stops when its stdin closes,
// so it never outlives a parent that dies without killing it. That is opt-in: a simulator started in the
// background with stdin on /dev/null must keep running.
var exitOnStdinClose = args.Contains("--exit-on-stdin-close", StringComparer.Ordinal);
args = [.. args.Where(a => a != "--exit-on-stdin-close")];

var builder = Host.CreateApplicationBuilder(args);
builder.Configuration.AddCommandLine(args, new Dictionary<string, string>
{
    ["--bootstrap-servers"] = "Feed:Kafka:BootstrapServers",
    ["--topic"] = "Feed:Kafka:Topic",
    ["--rate"] = "Feed:Simulator:TicksPerSecond",
    ["--symbols"] = "Feed:Simulator:Symbols",
    ["--max-ticks"] = "Feed:Simulator:MaxTicks",
    ["--seed"] = "Feed:Simulator:Seed",
    ["--partitions"] = "Feed:Embedded:Partitions",
    ["--brokers"] = "Feed:Embedded:Brokers",
});
builder.Configuration.AddListSettings(builder.Configuration);
builder.Services.AddMarketSimulator(builder.Configuration);

// This command exists to simulate: on whatever cluster it is pointed at.
builder.Services.PostConfigure<SimulatorOptions>(o => o.Enabled = true);

using var host = builder.Build();
await host.StartAsync().ConfigureAwait(false);

var simulator = host.Services.GetRequiredService<MarketSimulator>();
var connection = host.Services.GetRequiredService<KafkaConnection>();
var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
Console.Out.WriteLine($"BOOTSTRAP={connection.BootstrapServers}");
Console.Out.Flush();

if (exitOnStdinClose)
{
    // A dedicated thread: Console.In has no cancellable read, and this one lives as long as the process.
    new Thread(() =>
    {
        while (Console.In.Read() >= 0)
        {
        }

        lifetime.StopApplication();
    })
    { IsBackground = true, Name = "stdin-watch" }.Start();
}

var finished = simulator.ExecuteTask ?? Task.CompletedTask;
if (await Task.WhenAny(finished, host.WaitForShutdownAsync()).ConfigureAwait(false) == finished && connection.Embedded is null)
{
    // --max-ticks reached on a real cluster: nothing more to do. With the embedded broker the process
    // stays up, since consumers elsewhere still read from the broker it hosts.
    lifetime.StopApplication();
}

await host.WaitForShutdownAsync().ConfigureAwait(false);
