using System.Diagnostics;

namespace MarketStream.LoadTests;

/// <summary>
/// A process the harness started (`dotnet &lt;dll&gt; …`): its output goes to a log file and to line watchers, and
/// disposing it kills its whole tree, so no run leaves a broker or gateway behind, whatever happened.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly StreamWriter log;
    private readonly Lock gate = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> watchers = [];
    private readonly Queue<string> tail = new();

    private ChildProcess(string name, Process process, StreamWriter log)
    {
        Name = name;
        this.process = process;
        this.log = log;
    }

    public string Name { get; }

    public int Pid => process.Id;

    public bool HasExited => process.HasExited;

    public static ChildProcess Start(string name, string dll, IEnumerable<string> args, string logPath, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // Kept open: the simulator stops when it closes (--exit-on-stdin-close), should the harness die unkilled.
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        info.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["Logging__Console__FormatterName"] = "simple";
        if (environment is not null)
        {
            foreach (var (k, v) in environment)
            {
                info.Environment[k] = v;
            }
        }

        var writer = new StreamWriter(logPath, append: false) { AutoFlush = true };
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(name, process, writer);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start {name}");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Waits for the first output line that matches; fails if the process exits or the time runs out.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, CancellationToken ct)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (gate)
        {
            watchers.Add((match, found));
        }

        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeoutCts.CancelAfter(timeout);
        var exited = process.WaitForExitAsync(timeoutCts.Token);
        var first = await Task.WhenAny(found.Task, exited).ConfigureAwait(false);
        if (first == found.Task)
        {
            return await found.Task.ConfigureAwait(false);
        }

        ct.ThrowIfCancellationRequested();
        throw new InvalidOperationException(process.HasExited
            ? $"{Name} exited with {process.ExitCode} before it was ready:\n{Tail()}"
            : $"{Name} was not ready within {timeout.TotalSeconds:0} s:\n{Tail()}");
    }

    public string Tail()
    {
        lock (gate)
        {
            return string.Join('\n', tail);
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (gate)
        {
            log.WriteLine(line);
            tail.Enqueue(line);
            if (tail.Count > 40)
            {
                tail.Dequeue();
            }

            for (var i = watchers.Count - 1; i >= 0; i--)
            {
                if (watchers[i].Match(line))
                {
                    watchers[i].Found.TrySetResult(line);
                    watchers.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>Asks for an orderly stop (SIGTERM), then kills the tree if it has not exited in time.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (process.HasExited)
        {
            return;
        }

        try
        {
            _ = NativeMethods.Kill(process.Id, NativeMethods.SigTerm);
            using var cts = new CancellationTokenSource(grace);
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
    }

    public void Kill()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await Task.Yield();
        lock (gate)
        {
            log.Dispose();
        }

        process.Dispose();
    }
}
