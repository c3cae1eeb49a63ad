using System.Collections.Concurrent;
using System.Diagnostics;

namespace MarketStream.LoadTests;

/// <summary>
/// A process the harness started (`dotnet &lt;dll&gt; …`, or a shell command): its output goes to a log file and to
/// line watchers, and disposing it kills its whole tree, so no run leaves a broker or gateway behind, whatever happened.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly StreamWriter log;
    private readonly Lock gate = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> watchers = [];
    private readonly Queue<string> tail = new();
    private readonly ConcurrentDictionary<int, StatLine> seen = new();

    private ChildProcess(string name, Process process, StreamWriter log)
    {
        Name = name;
        this.process = process;
        this.log = log;
    }

    public string Name { get; }

    public int Pid => process.Id;

    public bool HasExited => process.HasExited;

    /// <summary>
    /// Starts <c>dotnet &lt;dll&gt; args</c> in the dll's folder, in the Production environment; with
    /// <paramref name="append"/>, its output goes after what the log holds (a process started again).
    /// </summary>
    public static ChildProcess Start(string name, string dll, IEnumerable<string> args, string logPath, IDictionary<string, string>? environment = null, bool append = false)
    {
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = Path.GetDirectoryName(dll)! };
        info.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["Logging__Console__FormatterName"] = "simple";
        return Launch(name, info, logPath, environment, append);
    }

    /// <summary>
    /// Starts <paramref name="command"/> through <c>/bin/sh -c</c> in the harness's own folder, so it is typed as
    /// at a prompt (<c>cd dir &amp;&amp; node server.js</c>, <c>$PORT</c>), with the harness's environment plus
    /// <paramref name="environment"/>. What it starts is its tree: see <see cref="Tree"/> and <see cref="StopAsync"/>.
    /// </summary>
    public static ChildProcess StartShell(string name, string command, string logPath, IDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo("/bin/sh") { WorkingDirectory = Environment.CurrentDirectory };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(command);
        return Launch(name, info, logPath, environment);
    }

    /// <summary>Starts the program <paramref name="file"/> (looked up on PATH) with <paramref name="args"/>, as it is.</summary>
    public static ChildProcess StartProgram(string name, string file, IEnumerable<string> args, string logPath)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = Environment.CurrentDirectory };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        return Launch(name, info, logPath, null);
    }

    private static ChildProcess Launch(string name, ProcessStartInfo info, string logPath, IDictionary<string, string>? environment, bool append = false)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        // Kept open: the simulator stops when it closes (--exit-on-stdin-close), should the harness die unkilled.
        info.RedirectStandardInput = true;
        info.UseShellExecute = false;
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[k] = v;
        }

        var writer = new StreamWriter(logPath, append) { AutoFlush = true };
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

    /// <summary>
    /// The process and its descendants now, root first; each is remembered, so that <see cref="StopAsync"/> still
    /// reaches a descendant whose parent has died (it is then re-parented, no longer below the root).
    /// </summary>
    public List<StatLine> Tree()
    {
        var members = ProcessTree.Members(process.Id, ProcessTree.Snapshot());
        foreach (var m in members)
        {
            seen[m.Pid] = m;
        }

        return members;
    }

    private List<StatLine> Running()
    {
        _ = Tree();
        return [.. seen.Values.Where(m => ProcessTree.IsRunning(m))];
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

    /// <summary>
    /// Asks the whole tree for an orderly stop (SIGTERM to every member, since a shell does not pass it on to the
    /// command it waits for), then kills what is still running when <paramref name="grace"/> is over.
    /// </summary>
    public async Task StopAsync(TimeSpan grace)
    {
        await SignalAsync(NativeMethods.SigTerm, grace).ConfigureAwait(false);
        await KillAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// SIGTERM to the tree, as Kubernetes stops a pod, and a wait of up to <paramref name="grace"/> for it to end by
    /// itself: true if it did. Nothing is killed; <see cref="StopAsync"/> or disposing does that.
    /// </summary>
    public async Task<bool> TerminateAsync(TimeSpan grace)
    {
        await SignalAsync(NativeMethods.SigTerm, grace).ConfigureAwait(false);
        return Running().Count == 0;
    }

    /// <summary>Writes one line to the process's stdin (the simulator's commands).</summary>
    public async Task SendLineAsync(string line)
    {
        await process.StandardInput.WriteLineAsync(line).ConfigureAwait(false);
        await process.StandardInput.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>Kills the tree: every member still running, and any descendant remembered from earlier.</summary>
    public async Task KillAsync()
    {
        // kill() returns before the process has died: wait, so that a gateway stopped is gone before the next starts.
        await SignalAsync(NativeMethods.SigKill, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                using var reaped = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await process.WaitForExitAsync(reaped.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            // Already gone, or not reaped in time: nothing more can be done from here.
        }
    }

    /// <summary>Sends <paramref name="signal"/> to every running member of the tree and waits up to <paramref name="limit"/> for them to end.</summary>
    private async Task SignalAsync(int signal, TimeSpan limit)
    {
        var running = Running();
        foreach (var m in running)
        {
            _ = NativeMethods.Kill(m.Pid, signal);
        }

        var clock = Stopwatch.StartNew();
        while (running.Count > 0 && clock.Elapsed < limit)
        {
            await Task.Delay(10).ConfigureAwait(false);
            running = [.. running.Where(m => ProcessTree.IsRunning(m))];
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync().ConfigureAwait(false);
        lock (gate)
        {
            log.Dispose();
        }

        process.Dispose();
    }
}
