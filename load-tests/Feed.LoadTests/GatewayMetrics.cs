using System.Globalization;

namespace MarketStream.LoadTests;

/// <summary>One scrape of the gateway's <c>/metrics</c> (Prometheus text), summed by metric name and label filter.</summary>
internal sealed class GatewayMetrics
{
    private readonly List<(string Name, string Labels, double Value)> samples = [];

    public static GatewayMetrics Parse(string text)
    {
        var m = new GatewayMetrics();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var brace = line.IndexOf('{', StringComparison.Ordinal);
            var space = line.LastIndexOf(' ');
            if (space <= 0)
            {
                continue;
            }

            // "name{labels} value [timestamp]": the value is the first field after the name and labels.
            var close = brace >= 0 ? line.IndexOf('}', brace) : -1;
            var name = brace >= 0 && brace < space ? line[..brace] : line[..line.IndexOf(' ', StringComparison.Ordinal)];
            var labels = close > 0 ? line[(brace + 1)..close] : string.Empty;
            var after = (close > 0 ? line[(close + 1)..] : line[name.Length..]).Trim().Split(' ')[0];
            if (double.TryParse(after, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                m.samples.Add((name, labels, value));
            }
        }

        return m;
    }

    /// <summary>The sum of every sample of <paramref name="name"/> whose labels contain <paramref name="labelContains"/>.</summary>
    public double Sum(string name, string? labelContains = null) => samples
        .Where(s => s.Name == name && (labelContains is null || s.Labels.Contains(labelContains, StringComparison.Ordinal)))
        .Sum(s => s.Value);

    public bool Has(string name) => samples.Any(s => s.Name == name);

    /// <summary>Label sets and values of one metric, for the report (e.g. disconnects by code).</summary>
    public IEnumerable<(string Labels, double Value)> Series(string name) =>
        samples.Where(s => s.Name == name).Select(s => (s.Labels, s.Value));
}
