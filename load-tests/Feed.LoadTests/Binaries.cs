using System.Reflection;

namespace MarketStream.LoadTests;

/// <summary>
/// Finds the gateway and simulator dlls the harness starts. They are built alongside the harness (project
/// references without the assembly), in its own configuration, into their usual output folders; the harness
/// finds the repository by walking up from its own folder, so it works from a fresh clone, from `dotnet run`
/// and from the test project alike. <c>MARKETSTREAM_GATEWAY_DLL</c> / <c>MARKETSTREAM_SIMULATOR_DLL</c> override.
/// </summary>
internal static class Binaries
{
    public static string Configuration { get; } =
        typeof(Binaries).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MarketStream.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"MarketStream.sln not found above {AppContext.BaseDirectory}: run the harness from the repository.");
    }

    public static string Gateway() => Find("MARKETSTREAM_GATEWAY_DLL", "Feed.Gateway");

    public static string Simulator() => Find("MARKETSTREAM_SIMULATOR_DLL", "Feed.Simulator");

    private static string Find(string variable, string project)
    {
        var overridden = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrEmpty(overridden))
        {
            return File.Exists(overridden) ? overridden : throw new FileNotFoundException($"{variable} names a missing file", overridden);
        }

        var tfm = $"net{Environment.Version.Major}.{Environment.Version.Minor}";
        var path = Path.Combine(RepositoryRoot(), "src", project, "bin", Configuration, tfm, project + ".dll");
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"{project}.dll not built for {Configuration}: run `dotnet build -c {Configuration} load-tests/Feed.LoadTests` (the harness builds it as a dependency).", path);
    }
}
