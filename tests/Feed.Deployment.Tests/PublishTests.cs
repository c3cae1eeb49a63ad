using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using MarketStream.Deployment.Tests.Infrastructure;

namespace MarketStream.Deployment.Tests;

/// <summary>
/// The image: there is no Docker engine here, so the Dockerfile is checked for what matters (it publishes with
/// eng/publish.sh, the CI command; its final stage is the ASP.NET runtime as a non-root user on 8080), and
/// eng/publish.sh is run for real and its output started.
/// </summary>
public sealed partial class PublishTests
{
    private static readonly string[] NonRootUsers = ["app", "1654", "$APP_UID", "${APP_UID}"];

    /// <summary>
    /// Restores are locked: every project has its committed lock file, and CI and the image build (eng/publish.sh,
    /// which the Dockerfile runs) restore in locked mode, so a dependency that moved fails instead of shipping.
    /// </summary>
    [Fact]
    public async Task Every_project_restores_from_a_committed_lock_file_in_locked_mode()
    {
        var projects = new[] { "src", "tests", "load-tests" }
            .SelectMany(d => Directory.EnumerateFiles(Repo.PathOf(d), "*.csproj", SearchOption.AllDirectories))
            .ToList();
        Assert.NotEmpty(projects);
        Assert.All(projects, p => Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(p)!, "packages.lock.json")), $"{p}: no packages.lock.json"));
        Assert.Contains("--locked-mode", await File.ReadAllTextAsync(Repo.PathOf(".ci", "run")), StringComparison.Ordinal);
        Assert.Contains("-p:RestoreLockedMode=true", await File.ReadAllTextAsync(Repo.PathOf("eng", "publish.sh")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dockerfile_publishes_with_the_CI_script_and_runs_as_non_root()
    {
        var text = await File.ReadAllTextAsync(Repo.PathOf("Dockerfile")).WaitAsync(TimeSpan.FromSeconds(10));
        var instructions = Instructions(text);
        var stages = new List<List<(string Op, string Args)>>();
        foreach (var instruction in instructions)
        {
            if (instruction.Op == "FROM")
            {
                stages.Add([]);
            }

            Assert.True(stages.Count > 0, $"{instruction.Op} before the first FROM");
            stages[^1].Add(instruction);
        }

        Assert.True(stages.Count >= 2, "the Dockerfile must be multi-stage");
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:10.0", stages[0][0].Args, StringComparison.Ordinal);
        var build = stages.Take(stages.Count - 1).SelectMany(s => s).Where(i => i.Op == "RUN").Select(i => i.Args).ToList();
        Assert.Contains(build, run => PublishCall().IsMatch(run));
        Assert.DoesNotContain(instructions, i => i.Args.Contains("dotnet publish", StringComparison.Ordinal)); // only through the script

        var final = stages[^1];
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled", final[0].Args, StringComparison.Ordinal);
        var user = final.LastOrDefault(i => i.Op == "USER").Args;
        Assert.True(user is not null && NonRootUsers.Contains(user.Split(':')[0]), $"the final stage must run as the non-root user app (UID 1654), not '{user}'");
        Assert.Contains(final, i => i.Op == "EXPOSE" && i.Args == "8080");
        Assert.Contains(final, i => i.Op == "ENV" && i.Args.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("ASPNETCORE_HTTP_PORTS=8080"));
        Assert.Contains(final, i => i.Op == "ENTRYPOINT" && i.Args.Contains("Feed.Gateway.dll", StringComparison.Ordinal));

        var ignored = await File.ReadAllLinesAsync(Repo.PathOf(".dockerignore")).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("**/bin/", ignored);
        Assert.Contains("**/obj/", ignored);
    }

    [Fact]
    public async Task Publish_script_output_is_a_runnable_gateway()
    {
        var output = Path.Combine(Path.GetTempPath(), $"marketstream-publish-{Guid.NewGuid():N}");
        try
        {
            var publish = await Repo.RunAsync("bash", [Repo.PathOf("eng", "publish.sh"), output], TimeSpan.FromMinutes(8));
            Assert.True(publish.ExitCode == 0, $"eng/publish.sh failed: {publish}");
            Assert.True(File.Exists(Path.Combine(output, "Feed.Gateway.dll")), "no Feed.Gateway.dll in the publish output");
            Assert.True(File.Exists(Path.Combine(output, "runtimes", "linux-x64", "native", "librdkafka.so")),
                "librdkafka (native) is missing from the publish output");

            var port = ProbeAndPortTests.FreePort();
            var psi = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = output, // as in the image (WORKDIR /app): the content root holds wwwroot
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { Path.Combine(output, "Feed.Gateway.dll"), "--urls", $"http://127.0.0.1:{port}" })
            {
                psi.ArgumentList.Add(arg);
            }

            Repo.ScrubMsBuildEnvironment(psi);
            psi.Environment["Logging__LogLevel__Default"] = "Warning";
            using var gateway = Process.Start(psi)!;
            var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
            gateway.OutputDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
            gateway.ErrorDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
            gateway.BeginOutputReadLine();
            gateway.BeginErrorReadLine();
            try
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
                await ProbeAndPortTests.Eventually(async () =>
                {
                    Assert.False(gateway.HasExited, "the published gateway exited:\n" + string.Join('\n', log));
                    using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz/live")).WaitAsync(TimeSpan.FromSeconds(10));
                    return response.StatusCode == HttpStatusCode.OK;
                }, "the published gateway never answered /healthz/live:\n" + string.Join('\n', log), TimeSpan.FromSeconds(60));
            }
            finally
            {
                if (!gateway.HasExited)
                {
                    gateway.Kill(entireProcessTree: true);
                }

                await gateway.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }

    /// <summary>Dockerfile instructions, continuation lines joined, comments and parser directives dropped.</summary>
    private static List<(string Op, string Args)> Instructions(string dockerfile)
    {
        var joined = ContinuationLine().Replace(dockerfile, " ");
        return joined.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l =>
            {
                var space = l.IndexOfAny([' ', '\t']);
                return space < 0
                    ? (l.ToUpperInvariant(), "")
                    : (l[..space].ToUpperInvariant(), Whitespace().Replace(l[(space + 1)..].Trim(), " "));
            })
            .ToList();
    }

    [GeneratedRegex(@"\\\r?\n(\s*#[^\n]*\n)*")]
    private static partial Regex ContinuationLine();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"(^|\s|/)eng/publish\.sh\s+/app(\s|$)")]
    private static partial Regex PublishCall();
}
