using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace MarketStream.LoadTests;

/// <summary>
/// The command line: <c>&lt;scenario&gt; [--quick] [--out DIR] [--clients N] [--duration S] …</c>. Runs one
/// scenario, bounded in time, writes its reports, and stops every process it started, on success, failure
/// or Ctrl+C. Exit code 0 when the run completed with deliveries and no client errors (targets are reported,
/// not asserted: speed is measured, never a pass/fail of the harness).
/// </summary>
public static class LoadHarness
{
    public static async Task<int> RunAsync(string[] args, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(log);
        if (args.Length == 0 || args[0] is "list" or "--help" or "-h")
        {
            log.WriteLine("usage: <scenario> [--quick] [--out DIR] [--clients N] [--symbols N] [--per-client N] [--rate N] [--throttle MS] [--policy P]");
            log.WriteLine("       [--ramp S] [--warmup S] [--duration S] [--slow-fraction F] [--slow-seconds S] [--ticks N] [--partitions N] [--heartbeat MS] [--sources N] [--time-limit S]");
            log.WriteLine("       [--gateway-command CMD] [--target URL --bootstrap-servers HOST:PORT] [--compare CMD] [--deflate on|off|per-message] [--delta on|off]");
            log.WriteLine("  --gateway-command CMD  measure the gateway CMD starts (/bin/sh -c, env BOOTSTRAP and PORT; ready on GET /healthz/ready) instead of MarketStream's");
            log.WriteLine("  --target URL           measure a gateway already running at URL (ws://host:port/ws or http://host:port/), producing into --bootstrap-servers");
            log.WriteLine("  --compare CMD          the same load against MarketStream's gateway, then CMD's, and a table of both with their ratios");
            log.WriteLine("  --deflate on           the clients offer permessage-deflate (as browsers do); per-message: with server_no_context_takeover");
            log.WriteLine("  --delta on             the clients ask for changed-fields-only quotes");
            log.WriteLine($"scenarios: {string.Join(", ", ScenarioSettings.Names)}");
            return args.Length == 0 ? 2 : 0;
        }

        ScenarioSettings settings;
        string? outDir;
        try
        {
            (settings, outDir) = Parse(args);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            log.WriteLine(ex.Message);
            return 2;
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(settings.TimeLimitSeconds));
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            cts.Cancel();
        });
        try
        {
            var report = await RunScenarioAsync(settings, outDir, log, cts.Token).ConfigureAwait(false);
            return report.Ok ? 0 : 1;
        }
        catch (ArgumentException ex)
        {
            log.WriteLine(ex.Message);
            return 2;
        }
        catch (OperationCanceledException)
        {
            log.WriteLine($"the run was cancelled (time limit {settings.TimeLimitSeconds:0} s, or Ctrl+C); every process it started has been stopped");
            return 3;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    internal static (ScenarioSettings Settings, string? OutDir) Parse(string[] args)
    {
        var scenario = args[0];
        var quick = false;
        string? outDir = null;
        var overrides = new Dictionary<string, string>();
        for (var i = 1; i < args.Length; i++)
        {
            var a = args[i];
            if (a == "--quick")
            {
                quick = true;
            }
            else if (a.StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
            {
                var key = a[2..];
                var value = args[++i];
                if (key == "out")
                {
                    outDir = value;
                }
                else
                {
                    overrides[key] = value;
                }
            }
            else
            {
                throw new ArgumentException($"unexpected argument '{a}'");
            }
        }

        return (ScenarioSettings.Preset(scenario, quick).With(overrides), outDir);
    }

    /// <summary>Runs one scenario and writes its reports; the processes it starts are always stopped before it returns.</summary>
    internal static async Task<RunReport> RunScenarioAsync(ScenarioSettings settings, string? outDir, TextWriter log, CancellationToken ct)
    {
        outDir ??= Path.Combine(Binaries.RepositoryRoot(), "load-tests", "results",
            $"{settings.Scenario}{(settings.Quick ? "-quick" : string.Empty)}-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}");
        Directory.CreateDirectory(outDir);

        // Each socket is a file: the harness and the gateway (which inherits the limit) need one per connection.
        var limit = NativeMethods.RaiseOpenFileLimit((ulong)Math.Max(4_096, (settings.Clients * 2) + 4_096));
        var report = new RunReport { Scenario = settings.Scenario, Quick = settings.Quick, Settings = settings };
        if ((ulong)settings.Clients + 512 > limit)
        {
            // One socket per client in the harness and one in the gateway, plus each process's own files: past the
            // limit, socket() fails with EMFILE deep in the runtime. Say so now rather than crash half-way.
            throw new ArgumentException(
                $"the open-file limit is {limit} and could not be raised (hard limit; raising it needs CAP_SYS_RESOURCE): too low for {settings.Clients:N0} clients, "
                + $"since the gateway and the harness each hold one socket per client plus their own files. Use --clients {Math.Max(0, (long)limit - 1_000)} or less, or raise `ulimit -Hn`.");
        }

        log.WriteLine($"{settings.Scenario}{(settings.Quick ? " --quick" : string.Empty)}: {ReportWriter.Describe(settings)}");
        log.WriteLine($"  {Binaries.Configuration} build; open-file limit {limit}; reports in {outDir}");
        if (Binaries.Configuration != "Release")
        {
            report.Notes.Add("Debug build: run with `-c Release` for figures worth quoting.");
        }

        var clock = Stopwatch.StartNew();
        try
        {
            await Scenarios.RunAsync(settings, report, outDir, log, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            report.ClientErrors++;
            report.ErrorSamples.Add($"the run failed: {ex.Message}");
            log.WriteLine($"  FAILED: {ex}");
        }
        finally
        {
            report.WallSeconds = clock.Elapsed.TotalSeconds;
            report.LoadAverageAtEnd = RunReport.LoadAverage();
            ReportWriter.Write(report, outDir);
        }

        foreach (var t in report.Targets)
        {
            log.WriteLine($"  {(t.Met ? "met   " : "MISSED")} {t.Name}: {t.Measured.ToString("0.###", CultureInfo.InvariantCulture)} {t.Unit} (goal {t.Goal})");
        }

        log.WriteLine($"  {(report.Ok ? "ok" : "FAILED")}: {report.Deliveries:N0} deliveries, {report.ClientErrors} client errors, {report.WallSeconds:0} s; {Path.Combine(outDir, "report.md")}");
        return report;
    }
}
