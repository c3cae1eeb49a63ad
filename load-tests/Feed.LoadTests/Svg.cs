using System.Globalization;
using System.Text;

namespace MarketStream.LoadTests;

/// <summary>
/// Plots as plain SVG, no package needed: a latency percentile curve on a log-scaled "1 / (1 - p)" axis, the
/// way HdrHistogram's plotter draws one, and a time series (RSS, interval p99) as lines.
/// </summary>
internal static class Svg
{
    private const int W = 760, H = 420, Left = 70, Right = 20, Top = 40, Bottom = 60;
    private static readonly string[] Colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"];

    public static string PercentilePlot(string title, IReadOnlyDictionary<string, List<CurvePoint>> curves)
    {
        // x = log10(1 / (1 - p)), from 0 (p = 0) to 6 (p = 99.9999).
        const double xMax = 6;
        var yMax = NiceCeiling(curves.Values.SelectMany(c => c).Select(p => p.Ms).DefaultIfEmpty(1).Max());
        var sb = Begin(title, "percentile", "latency (ms)");
        Grid(sb, yMax, "ms");
        string[] labels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"];
        for (var i = 0; i <= 6; i++)
        {
            var x = Left + ((W - Left - Right) * i / xMax);
            sb.Append(CultureInfo.InvariantCulture, $"<line x1='{x:0.#}' y1='{Top}' x2='{x:0.#}' y2='{H - Bottom}' stroke='#eee'/>");
            sb.Append(CultureInfo.InvariantCulture, $"<text x='{x:0.#}' y='{H - Bottom + 18}' text-anchor='middle' font-size='11'>{labels[i]}</text>");
        }

        var n = 0;
        foreach (var (name, points) in curves)
        {
            var path = string.Join(' ', points.Select(p =>
            {
                var lx = p.Percentile >= 100 ? xMax : Math.Min(xMax, Math.Log10(1 / (1 - (p.Percentile / 100))));
                return Point(lx / xMax, p.Ms / yMax);
            }));
            Line(sb, path, Colors[n % Colors.Length]);
            Legend(sb, n++, name);
        }

        return End(sb);
    }

    /// <param name="phases">Where each phase of the load simulation began (ramp, warm-up, measure, …), drawn as labelled lines.</param>
    public static string TimeSeries(string title, string yLabel, IReadOnlyDictionary<string, List<(double T, double V)>> series, IReadOnlyList<(double T, string Name)>? phases = null)
    {
        var all = series.Values.SelectMany(s => s).ToList();
        var tMax = Math.Max(1, all.Select(p => p.T).DefaultIfEmpty(1).Max());
        var yMax = NiceCeiling(all.Select(p => p.V).DefaultIfEmpty(1).Max());
        var sb = Begin(title, "time (s)", yLabel);
        Grid(sb, yMax, string.Empty);
        for (var i = 0; i <= 5; i++)
        {
            var x = Left + ((W - Left - Right) * i / 5.0);
            sb.Append(CultureInfo.InvariantCulture, $"<text x='{x:0.#}' y='{H - Bottom + 18}' text-anchor='middle' font-size='11'>{tMax * i / 5:0}</text>");
        }

        foreach (var (t, name) in phases ?? [])
        {
            var x = Left + ((W - Left - Right) * Math.Clamp(t / tMax, 0, 1));
            sb.Append(CultureInfo.InvariantCulture, $"<line x1='{x:0.#}' y1='{Top}' x2='{x:0.#}' y2='{H - Bottom}' stroke='#999' stroke-dasharray='4 3'/>");
            sb.Append(CultureInfo.InvariantCulture, $"<text x='{x + 3:0.#}' y='{H - Bottom - 6}' font-size='10' fill='#666'>{Escape(name)}</text>");
        }

        var n = 0;
        foreach (var (name, points) in series)
        {
            Line(sb, string.Join(' ', points.Select(p => Point(p.T / tMax, p.V / yMax))), Colors[n % Colors.Length]);
            Legend(sb, n++, name);
        }

        return End(sb);
    }

    private static StringBuilder Begin(string title, string xLabel, string yLabel)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns='http://www.w3.org/2000/svg' width='{W}' height='{H}' viewBox='0 0 {W} {H}' font-family='sans-serif'>");
        sb.Append(CultureInfo.InvariantCulture, $"<rect width='{W}' height='{H}' fill='white'/>");
        sb.Append(CultureInfo.InvariantCulture, $"<text x='{W / 2}' y='22' text-anchor='middle' font-size='15'>{Escape(title)}</text>");
        sb.Append(CultureInfo.InvariantCulture, $"<text x='{W / 2}' y='{H - 15}' text-anchor='middle' font-size='12'>{Escape(xLabel)}</text>");
        sb.Append(CultureInfo.InvariantCulture, $"<text x='16' y='{H / 2}' text-anchor='middle' font-size='12' transform='rotate(-90 16 {H / 2})'>{Escape(yLabel)}</text>");
        sb.Append(CultureInfo.InvariantCulture, $"<rect x='{Left}' y='{Top}' width='{W - Left - Right}' height='{H - Top - Bottom}' fill='none' stroke='#888'/>");
        return sb;
    }

    private static void Grid(StringBuilder sb, double yMax, string unit)
    {
        for (var i = 0; i <= 5; i++)
        {
            var y = H - Bottom - ((H - Top - Bottom) * i / 5.0);
            sb.Append(CultureInfo.InvariantCulture, $"<line x1='{Left}' y1='{y:0.#}' x2='{W - Right}' y2='{y:0.#}' stroke='#eee'/>");
            sb.Append(CultureInfo.InvariantCulture, $"<text x='{Left - 6}' y='{y + 4:0.#}' text-anchor='end' font-size='11'>{Format(yMax * i / 5)}{unit}</text>");
        }
    }

    private static void Line(StringBuilder sb, string points, string color) =>
        sb.Append(CultureInfo.InvariantCulture, $"<polyline fill='none' stroke='{color}' stroke-width='2' points='{points}'/>");

    private static void Legend(StringBuilder sb, int n, string name)
    {
        var y = Top + 16 + (n * 16);
        sb.Append(CultureInfo.InvariantCulture, $"<rect x='{Left + 10}' y='{y - 9}' width='12' height='3' fill='{Colors[n % Colors.Length]}'/>");
        sb.Append(CultureInfo.InvariantCulture, $"<text x='{Left + 28}' y='{y}' font-size='12'>{Escape(name)}</text>");
    }

    private static string End(StringBuilder sb) => sb.Append("</svg>\n").ToString();

    private static string Point(double fx, double fy) => string.Create(CultureInfo.InvariantCulture,
        $"{Left + (Math.Clamp(fx, 0, 1) * (W - Left - Right)):0.#},{H - Bottom - (Math.Clamp(fy, 0, 1) * (H - Top - Bottom)):0.#}");

    internal static double NiceCeiling(double v)
    {
        if (v <= 0)
        {
            return 1;
        }

        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(v)));
        foreach (var step in new[] { 1, 2, 2.5, 5, 10 })
        {
            if (step * magnitude >= v)
            {
                return step * magnitude;
            }
        }

        return 10 * magnitude;
    }

    private static string Format(double v) => v >= 100 ? v.ToString("0", CultureInfo.InvariantCulture) : v.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Escape(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal);
}
