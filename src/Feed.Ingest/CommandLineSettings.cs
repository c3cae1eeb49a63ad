namespace MarketStream.Ingest;

/// <summary>The configuration settings written on a command line beside a command's own options.</summary>
public static class CommandLineSettings
{
    /// <summary>--Section:Key=value: a configuration setting, as ASP.NET Core's command-line configuration reads it.</summary>
    public static bool IsSetting(string arg)
    {
        ArgumentNullException.ThrowIfNull(arg);
        return arg.StartsWith("--", StringComparison.Ordinal) && arg.IndexOf('=', StringComparison.Ordinal) is > 2 and var equals
            && arg.AsSpan(2, equals - 2).Contains(':');
    }
}
