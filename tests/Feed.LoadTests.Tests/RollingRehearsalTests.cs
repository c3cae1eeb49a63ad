using System.Diagnostics;
using MarketStream.LoadTests;

namespace MarketStream.LoadTests.Tests;

/// <summary>
/// The parts of the <c>rolling</c> rehearsal that can be checked without running it (its quick preset runs in
/// <see cref="QuickPresetTests"/>): the nginx configuration nginx itself accepts, the broker switch of the
/// simulator, and the options it refuses.
/// </summary>
public sealed class RollingRehearsalTests
{
    [Fact]
    public async Task The_repository_nginx_template_renders_to_a_configuration_nginx_accepts()
    {
        var dir = Directory.CreateTempSubdirectory("marketstream-nginx-").FullName;
        try
        {
            var config = Nginx.Render(await File.ReadAllTextAsync(Nginx.TemplatePath()), dir, 18080, [18081, 18082, 18083]);
            Assert.Contains("server 127.0.0.1:18082 max_fails=0;", config, StringComparison.Ordinal);
            Assert.Contains("listen 127.0.0.1:18080;", config, StringComparison.Ordinal);
            var path = Path.Combine(dir, "nginx.conf");
            await File.WriteAllTextAsync(path, config);

            using var test = Process.Start(new ProcessStartInfo(Nginx.Binary(TextWriter.Null), ["-t", "-p", dir, "-c", path, "-e", Path.Combine(dir, "error.log")])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            })!;
            var errors = await test.StandardError.ReadToEndAsync();
            await test.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(test.ExitCode == 0, $"nginx -t refused the rendered configuration:\n{errors}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_template_placeholder_the_harness_does_not_fill_is_an_error_not_a_broken_config()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Nginx.Render("listen {{LISTEN}}; resolver {{DNS}};", "/tmp/x", 1, [2]));
        Assert.Contains("{{DNS}}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_simulator_takes_its_brokers_away_and_back_on_command()
    {
        var dir = Directory.CreateTempSubdirectory("marketstream-brokers-").FullName;
        try
        {
            await using var topology = new Topology(dir, TextWriter.Null);
            await topology.StartSimulatorAsync(100, ["AAA", "BBB"], 2, null, null, CancellationToken.None);

            Assert.True(await BrokerAnswersAsync(topology.Bootstrap), "the broker did not answer before the outage");
            await topology.SetBrokersAsync(up: false, CancellationToken.None);
            Assert.False(await BrokerAnswersAsync(topology.Bootstrap), "the broker still answered after 'brokers down'");
            await topology.SetBrokersAsync(up: true, CancellationToken.None);
            Assert.True(await BrokerAnswersAsync(topology.Bootstrap), "the broker did not answer again after 'brokers up'");

            // A command it does not know changes nothing and is refused on stderr.
            // (Watch for the answer before asking: it may come back before a watcher registered after the send.)
            var refused = topology.Simulator!.WaitForLineAsync(l => l.Contains("unknown command 'brokers sideways'", StringComparison.Ordinal), TimeSpan.FromSeconds(10), CancellationToken.None);
            await topology.Simulator.SendLineAsync("brokers sideways");
            _ = await refused;
            Assert.True(await BrokerAnswersAsync(topology.Bootstrap));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("--replicas", "1")]
    [InlineData("--outage", "0")]
    [InlineData("--compare", "node server.js")]
    [InlineData("--target", "ws://127.0.0.1:1/ws")]
    public void Options_that_cannot_be_rehearsed_are_refused(string option, string value) =>
        Assert.StartsWith("rolling", Assert.Throws<ArgumentException>(() => LoadHarness.Parse(["rolling", "--quick", option, value])).Message, StringComparison.Ordinal);

    /// <summary>Whether the cluster answers a metadata request within 3 s.</summary>
    private static async Task<bool> BrokerAnswersAsync(string bootstrap) => await Task.Run(() =>
    {
        using var admin = new Confluent.Kafka.AdminClientBuilder(new Confluent.Kafka.AdminClientConfig { BootstrapServers = bootstrap }).Build();
        try
        {
            return admin.GetMetadata(TimeSpan.FromSeconds(3)).Brokers.Count > 0;
        }
        catch (Confluent.Kafka.KafkaException)
        {
            return false;
        }
    });
}
