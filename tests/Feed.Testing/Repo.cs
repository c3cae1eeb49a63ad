using System.Diagnostics;

namespace MarketStream.Testing;

/// <summary>The repository the tests run from, and a process runner with a timeout on everything.</summary>
public static class Repo
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MarketStream.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"MarketStream.sln not found above {AppContext.BaseDirectory}");
    });

    public static string Root => RootPath.Value;

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>
    /// Runs <paramref name="file"/> to its end, with <paramref name="environment"/> added to the test's own (less
    /// MSBuild's settings), and returns its exit code and output; a run longer than <paramref name="timeout"/> is
    /// killed and throws.
    /// </summary>
    public static async Task<ProcessResult> RunAsync(
        string file, IEnumerable<string> args, TimeSpan timeout, string? workingDirectory = null, string? stdin = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory ?? Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        ScrubMsBuildEnvironment(psi);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[key] = value;
        }

        var commandLine = $"{file} {string.Join(' ', psi.ArgumentList)}";
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {commandLine}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin.AsMemory(), cts.Token);
                process.StandardInput.Close();
            }

            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{commandLine}' did not finish within {timeout}");
        }

        return new ProcessResult(process.ExitCode,
            await stdout.WaitAsync(TimeSpan.FromSeconds(10)),
            await stderr.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    /// <summary>
    /// dotnet test hands MSBuild settings of its own to the test host; a dotnet publish started from a test must
    /// not inherit them (they point at the SDK instance of the test run and change how projects evaluate).
    /// </summary>
    public static void ScrubMsBuildEnvironment(ProcessStartInfo psi)
    {
        ArgumentNullException.ThrowIfNull(psi);
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            psi.Environment.Remove(key);
        }
    }
}

public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr)
{
    public override string ToString() => $"exit code {ExitCode}\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}";
}
