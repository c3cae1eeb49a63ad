using System.Globalization;
using System.Text;

namespace MarketStream.LoadTests;

/// <summary>One gateway's figures over the measured window of a <c>--compare</c> run.</summary>
internal sealed record GatewayFigures(string Gateway, double QuotesPerSecond, double FramesPerSecond, double? CpuCores, double? RssPeakMb, double P50Ms, double P99Ms)
{
    /// <summary>
    /// Core-seconds of gateway CPU per million quotes delivered: what a quote costs, comparable between gateways
    /// that deliver different amounts (a gateway that conflates more sends fewer quotes for the same ticks).
    /// </summary>
    public double? CpuPerMillionQuotes => CpuCores is { } c && QuotesPerSecond > 0 ? Math.Round(c / QuotesPerSecond * 1e6, 3) : null;
}

/// <summary>
/// MarketStream's gateway against another one, measured in one run: same simulator and broker, same clients and
/// seeded watchlists, same rate and phases, one gateway after the other. Ratios are MarketStream / other.
/// </summary>
internal sealed record Comparison(string OtherCommand, GatewayFigures MarketStream, GatewayFigures Other)
{
    public GatewayRatios Ratios => new(
        Ratio(MarketStream.QuotesPerSecond, Other.QuotesPerSecond),
        Ratio(MarketStream.FramesPerSecond, Other.FramesPerSecond),
        Ratio(MarketStream.CpuCores, Other.CpuCores),
        Ratio(MarketStream.CpuPerMillionQuotes, Other.CpuPerMillionQuotes),
        Ratio(MarketStream.P50Ms, Other.P50Ms),
        Ratio(MarketStream.P99Ms, Other.P99Ms),
        Ratio(MarketStream.RssPeakMb, Other.RssPeakMb));

    private static double? Ratio(double? ours, double? theirs) =>
        ours is { } a && theirs is { } b && b > 0 ? Math.Round(a / b, 3) : null;

    /// <summary>The report's comparison section: a row per gateway and the ratio row.</summary>
    public string Markdown(string otherReport)
    {
        var sb = new StringBuilder();
        sb.AppendLine("## MarketStream against the `--compare` gateway");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"`--compare`: `{OtherCommand}` (its own report: [{otherReport}]({otherReport})). Same simulator and broker, same clients, watchlists, rate and phases; one gateway after the other, the first stopped before the second started, so they never shared the cores. CPU and RSS are those of each gateway's whole process tree.");
        sb.AppendLine();
        sb.AppendLine("| gateway | quotes/s | frames/s | gateway CPU (cores) | CPU per million quotes (core-s) | p50 (ms) | p99 (ms) | RSS peak (MB) |");
        sb.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var g in new[] { MarketStream, Other })
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {g.Gateway} | {Num(g.QuotesPerSecond)} | {Num(g.FramesPerSecond)} | {Num(g.CpuCores)} | {Num(g.CpuPerMillionQuotes)} | {Num(g.P50Ms)} | {Num(g.P99Ms)} | {Num(g.RssPeakMb)} |");
        }

        var r = Ratios;
        sb.AppendLine(CultureInfo.InvariantCulture, $"| **MarketStream / other** | {Num(r.QuotesPerSecond)} | {Num(r.FramesPerSecond)} | {Num(r.CpuCores)} | **{Num(r.CpuPerMillionQuotes)}** | {Num(r.P50)} | **{Num(r.P99)}** | {Num(r.RssPeak)} |");
        sb.AppendLine();
        sb.AppendLine("A ratio below 1: MarketStream's figure is the lower one (better for CPU, latency and RSS; worse for quotes and frames delivered).");
        return sb.ToString();
    }

    private static string Num(double? v) => v is { } x ? ReportWriter.Num(x) : "n/a";
}

/// <summary>MarketStream / other, figure by figure; null where either side is unknown or the other's is zero.</summary>
internal sealed record GatewayRatios(double? QuotesPerSecond, double? FramesPerSecond, double? CpuCores, double? CpuPerMillionQuotes, double? P50, double? P99, double? RssPeak);
