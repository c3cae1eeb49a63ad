using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace MarketStream.Deployment.Tests.Infrastructure;

/// <summary>
/// Renders an overlay with <c>kubectl kustomize</c> and runs it through <c>eng/k8s-validate</c>, once per overlay
/// per test run; the validated objects come back as JSON for the structural checks.
/// </summary>
internal static class Manifests
{
    public static readonly string[] Overlays = ["dev", "prod"];

    private static readonly TimeSpan ToolTimeout = TimeSpan.FromMinutes(2);
    private static readonly ConcurrentDictionary<string, Lazy<Task<RenderedOverlay>>> Cache = new(StringComparer.Ordinal);
    private static readonly SemaphoreSlim InstallGate = new(1, 1);

    public static string ValidatorDirectory => Repo.PathOf("eng", "k8s-validate");

    public static Task<RenderedOverlay> RenderAsync(string overlay) =>
        Cache.GetOrAdd(overlay, o => new Lazy<Task<RenderedOverlay>>(() => RenderUncachedAsync(o))).Value;

    public static async Task<ProcessResult> KustomizeAsync(string overlay) =>
        await Repo.RunAsync("kubectl", ["kustomize", Repo.PathOf("k8s", "overlays", overlay)], ToolTimeout);

    public static async Task<ProcessResult> ValidateAsync(string yaml, bool json)
    {
        await EnsureValidatorInstalledAsync();
        string[] args = json ? ["validate.mjs", "--json"] : ["validate.mjs"];
        return await Repo.RunAsync("node", args, ToolTimeout, ValidatorDirectory, stdin: yaml);
    }

    private static async Task<RenderedOverlay> RenderUncachedAsync(string overlay)
    {
        var rendered = await KustomizeAsync(overlay);
        Assert.True(rendered.ExitCode == 0, $"kubectl kustomize k8s/overlays/{overlay} failed: {rendered}");
        var validated = await ValidateAsync(rendered.StdOut, json: true);
        Assert.True(validated.ExitCode == 0, $"eng/k8s-validate rejected k8s/overlays/{overlay}: {validated.StdErr}");
        var objects = JsonSerializer.Deserialize<JsonElement>(validated.StdOut).EnumerateArray().ToList();
        return new RenderedOverlay(overlay, rendered.StdOut, validated.StdErr, objects);
    }

    /// <summary>
    /// <c>npm ci</c> in eng/k8s-validate when its node_modules is missing or older than the lock file. Serialized
    /// within the process and, by an exclusive lock file, across processes (parallel test runs on one tree).
    /// </summary>
    public static async Task EnsureValidatorInstalledAsync()
    {
        if (ValidatorInstalled())
        {
            return;
        }

        await InstallGate.WaitAsync(TimeSpan.FromMinutes(6));
        try
        {
            var lockName = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(ValidatorDirectory)))[..16];
            using var crossProcessLock = await AcquireFileLockAsync(
                Path.Combine(Path.GetTempPath(), $"marketstream-k8s-validate-{lockName}.lock"), TimeSpan.FromMinutes(5));
            if (ValidatorInstalled())
            {
                return;
            }

            var result = await Repo.RunAsync("npm", ["ci", "--no-audit", "--no-fund"], TimeSpan.FromMinutes(5), ValidatorDirectory);
            Assert.True(result.ExitCode == 0, $"npm ci in eng/k8s-validate failed: {result}");
            Assert.True(ValidatorInstalled(), "npm ci succeeded but node_modules/.package-lock.json is missing");
        }
        finally
        {
            InstallGate.Release();
        }
    }

    private static bool ValidatorInstalled()
    {
        var installed = Path.Combine(ValidatorDirectory, "node_modules", ".package-lock.json");
        var lockFile = Path.Combine(ValidatorDirectory, "package-lock.json");
        return File.Exists(installed) && File.GetLastWriteTimeUtc(installed) >= File.GetLastWriteTimeUtc(lockFile);
    }

    private static async Task<FileStream> AcquireFileLockAsync(string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }
}

/// <summary>One rendered, validated overlay.</summary>
internal sealed record RenderedOverlay(string Overlay, string Yaml, string ValidatorSummary, IReadOnlyList<JsonElement> Objects)
{
    public IEnumerable<JsonElement> OfKind(string kind) =>
        Objects.Where(o => o.TryGetProperty("kind", out var k) && k.GetString() == kind);

    public JsonElement Single(string kind) => Assert.Single(OfKind(kind));

    public JsonElement GatewayDeployment => Named("Deployment", "marketstream-gateway");

    public JsonElement Named(string kind, string name) =>
        Assert.Single(OfKind(kind), o => o.At("metadata", "name").GetString() == name);

    public JsonElement GatewayContainer =>
        GatewayDeployment.At("spec", "template", "spec", "containers").EnumerateArray().Single(c => c.At("name").GetString() == "gateway");

    /// <summary>
    /// The gateway container's environment as the kubelet builds it: every ConfigMap of <c>envFrom</c> (in order),
    /// then <c>env</c> entries with a literal value.
    /// </summary>
    public IReadOnlyDictionary<string, string> GatewayEnvironment
    {
        get
        {
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            var container = GatewayContainer;
            if (container.TryGetProperty("envFrom", out var envFrom))
            {
                foreach (var source in envFrom.EnumerateArray())
                {
                    if (!source.TryGetProperty("configMapRef", out var reference))
                    {
                        continue;
                    }

                    var name = reference.At("name").GetString();
                    var map = OfKind("ConfigMap").Single(c => c.At("metadata", "name").GetString() == name);
                    foreach (var entry in map.At("data").EnumerateObject())
                    {
                        env[entry.Name] = entry.Value.GetString()!;
                    }
                }
            }

            if (container.TryGetProperty("env", out var list))
            {
                foreach (var entry in list.EnumerateArray())
                {
                    if (entry.TryGetProperty("value", out var value))
                    {
                        env[entry.At("name").GetString()!] = value.GetString()!;
                    }
                }
            }

            return env;
        }
    }

    /// <summary>
    /// The gateway container's environment with a stand-in for each value the kubelet takes from a Secret
    /// (<c>secretKeyRef</c>): what a pod sees, with test values where the cluster's secrets would be.
    /// </summary>
    public IReadOnlyDictionary<string, string> GatewayEnvironmentWithSecrets
    {
        get
        {
            var env = new Dictionary<string, string>(GatewayEnvironment, StringComparer.Ordinal);
            if (GatewayContainer.TryGetProperty("env", out var list))
            {
                foreach (var entry in list.EnumerateArray())
                {
                    if (entry.TryGetProperty("valueFrom", out var from) && from.TryGetProperty("secretKeyRef", out var secret))
                    {
                        env[entry.At("name").GetString()!] = $"stand-in for secret {secret.At("name").GetString()}, key {secret.At("key").GetString()}";
                    }
                }
            }

            return env;
        }
    }
}

internal static class JsonPath
{
    /// <summary>The element at <paramref name="path"/>; fails the test naming the missing step.</summary>
    public static JsonElement At(this JsonElement element, params string[] path)
    {
        var current = element;
        foreach (var step in path)
        {
            Assert.True(current.ValueKind == JsonValueKind.Object && current.TryGetProperty(step, out current),
                $"missing '{step}' in {string.Join('.', path)}");
        }

        return current;
    }
}
