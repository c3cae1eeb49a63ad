using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace MarketStream.LoadTests;

/// <summary>
/// Debian's nginx as the load balancer of the <c>rolling</c> rehearsal, run from the repository's
/// <c>load-tests/Feed.LoadTests/Rehearsal/nginx.conf</c> (the ingress-nginx Ingress's settings as directives),
/// filled in for the run: its own folder, a free port on 127.0.0.1, one upstream server per replica.
/// </summary>
internal sealed class Nginx : IAsyncDisposable
{
    private readonly ChildProcess process;

    private Nginx(ChildProcess process, int port)
    {
        this.process = process;
        Port = port;
    }

    public int Port { get; }

    public int Pid => process.Pid;

    /// <summary>The configuration template, in the repository.</summary>
    public static string TemplatePath() => Path.Combine(Binaries.RepositoryRoot(), "load-tests", "Feed.LoadTests", "Rehearsal", "nginx.conf");

    /// <summary>The template with its placeholders filled.</summary>
    public static string Render(string template, string prefix, int port, IEnumerable<int> upstreamPorts)
    {
        var upstreams = string.Join('\n', upstreamPorts.Select(p => string.Create(CultureInfo.InvariantCulture, $"        server 127.0.0.1:{p} max_fails=0; # controller default")));
        var text = template.Replace("{{PREFIX}}", prefix, StringComparison.Ordinal)
            .Replace("{{LISTEN}}", string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{port}"), StringComparison.Ordinal)
            .Replace("{{UPSTREAMS}}", upstreams, StringComparison.Ordinal);
        var left = text.IndexOf("{{", StringComparison.Ordinal);
        return left < 0 ? text : throw new InvalidOperationException($"the nginx template has a placeholder the harness does not fill: {text[left..Math.Min(text.Length, left + 30)]}");
    }

    /// <summary>
    /// The nginx binary; where it is missing, <c>eng/install-prereqs.sh</c> installs Debian's package first (as it
    /// does for the test suite's other tools).
    /// </summary>
    public static string Binary(TextWriter log)
    {
        if (Find() is { } found)
        {
            return found;
        }

        log.WriteLine("  nginx not found: installing it with eng/install-prereqs.sh");
        var script = Path.Combine(Binaries.RepositoryRoot(), "eng", "install-prereqs.sh");
        using (var install = Process.Start(new ProcessStartInfo("bash") { ArgumentList = { script } })!)
        {
            install.WaitForExit();
        }

        return Find() ?? throw new InvalidOperationException("nginx is not installed and eng/install-prereqs.sh could not install it: install Debian's nginx package (apt-get install nginx)");
    }

    private static string? Find() =>
        new[] { "/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx" }.FirstOrDefault(File.Exists)
        ?? (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Select(d => Path.Combine(d, "nginx")).FirstOrDefault(File.Exists);

    /// <summary>Starts nginx in the foreground in <paramref name="dir"/>, balancing over <paramref name="upstreamPorts"/>; returns once it accepts connections.</summary>
    public static async Task<Nginx> StartAsync(string dir, IReadOnlyList<int> upstreamPorts, TextWriter log, CancellationToken ct)
    {
        var binary = Binary(log);
        var prefix = Path.Combine(dir, "nginx");
        Directory.CreateDirectory(prefix);
        var port = Topology.FreePort();
        var config = Path.Combine(prefix, "nginx.conf");
        await File.WriteAllTextAsync(config, Render(await File.ReadAllTextAsync(TemplatePath(), ct).ConfigureAwait(false), prefix, port, upstreamPorts), ct).ConfigureAwait(false);

        // -e: the error log before the configuration is read (the package's default path may not be writable).
        var process = ChildProcess.StartProgram("nginx", binary, ["-p", prefix, "-c", config, "-e", Path.Combine(prefix, "error.log")], Path.Combine(dir, "nginx.log"));
        var nginx = new Nginx(process, port);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", port, ct).ConfigureAwait(false);
                log.WriteLine($"  nginx pid {process.Pid} on 127.0.0.1:{port}, in front of {string.Join(", ", upstreamPorts.Select(p => $"127.0.0.1:{p}"))}");
                return nginx;
            }
            catch (SocketException) when (clock.Elapsed < TimeSpan.FromSeconds(10) && !process.HasExited)
            {
                await Task.Delay(50, ct).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                var errors = File.Exists(Path.Combine(prefix, "error.log")) ? await File.ReadAllTextAsync(Path.Combine(prefix, "error.log"), ct).ConfigureAwait(false) : string.Empty;
                await nginx.DisposeAsync().ConfigureAwait(false);
                throw new InvalidOperationException($"nginx did not start:\n{process.Tail()}\n{errors}");
            }
        }
    }

    /// <summary>CPU seconds used so far by nginx's master and workers.</summary>
    public double CpuSeconds() => ProcessTree.CpuSeconds(process.Tree());

    public async ValueTask DisposeAsync()
    {
        await process.StopAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
        await process.DisposeAsync().ConfigureAwait(false);
    }
}
