using Microsoft.Extensions.Configuration;

namespace MarketStream.Ingest;

/// <summary>
/// The settings that hold lists (origins, brokers, symbols) accept both forms users write: one comma-separated
/// value (<c>Feed__Auth__AllowedOrigins=https://a,https://b</c>) and the array form of ASP.NET Core configuration
/// (<c>Feed__Auth__AllowedOrigins__0=https://a</c> in the environment, a JSON array in <c>appsettings.json</c>).
/// The array form is joined into the comma form before options are bound, so each setting is read one way.
/// </summary>
public static class ListSettings
{
    /// <summary>Every list setting of the gateway and the simulator.</summary>
    public static IReadOnlyList<string> Keys { get; } = ["Feed:Auth:AllowedOrigins", "Feed:Kafka:BootstrapServers", "Feed:Simulator:Symbols"];

    /// <summary>Adds, last, the comma form of every list setting given in the array form.</summary>
    public static IConfigurationBuilder AddListSettings(this IConfigurationBuilder builder, IConfiguration current)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(current);
        var joined = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var key in Keys)
        {
            var section = current.GetSection(key);
            var items = section.GetChildren()
                .OrderBy(c => int.TryParse(c.Key, out var i) ? i : int.MaxValue)
                .Select(c => c.Value)
                .Where(v => !string.IsNullOrWhiteSpace(v))
                .ToList();
            if (items.Count > 0)
            {
                joined[key] = string.Join(',', items);
            }
        }

        return joined.Count == 0 ? builder : builder.AddInMemoryCollection(joined);
    }
}
