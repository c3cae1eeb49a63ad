using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace MarketStream.Gateway;

/// <summary>
/// Turns a configuration error found at start (a value that does not convert, a value a validation refuses) into
/// the one line an operator reads in <c>kubectl logs</c>: the key, the value given, and what is allowed. No stack
/// trace: nothing is wrong with the code.
/// </summary>
public static partial class ConfigurationErrors
{
    /// <summary>The exit code of a gateway stopped by its configuration.</summary>
    public const int ExitCode = 2;

    /// <summary>True when <paramref name="exception"/> is a configuration error; <paramref name="line"/> then says what is wrong.</summary>
    public static bool TryDescribe(Exception exception, IConfiguration configuration, out string line)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(configuration);
        var messages = new List<string>();
        Collect(exception, configuration, messages);
        line = messages.Count == 0 ? string.Empty : "Configuration error: " + string.Join(" ", messages.Distinct());
        return messages.Count > 0;
    }

    private static void Collect(Exception exception, IConfiguration configuration, List<string> messages)
    {
        switch (exception)
        {
            case OptionsValidationException validation:
                messages.AddRange(validation.Failures.Select(f => WithValue(f.TrimEnd('.', ' '), configuration)));
                return;
            case InvalidOperationException when ConversionFailure().Match(exception.Message) is { Success: true } m:
                messages.Add($"{m.Groups["key"].Value} is '{m.Groups["value"].Value}', which is not {Describe(m.Groups["type"].Value)}.");
                return;
            case AggregateException aggregate:
                foreach (var inner in aggregate.InnerExceptions)
                {
                    Collect(inner, configuration, messages);
                }

                return;
        }

        if (exception.InnerException is { } cause)
        {
            Collect(cause, configuration, messages);
        }
    }

    /// <summary>A validation message names its key; the value given is added, so the line is complete.</summary>
    private static string WithValue(string message, IConfiguration configuration)
    {
        var key = SettingKey().Match(message);
        if (!key.Success || configuration[key.Value] is not { } value)
        {
            return message + ".";
        }

        return $"{message} (it is '{value}').";
    }

    private static string Describe(string type) => type switch
    {
        "System.Int32" or "System.Int64" => "a whole number",
        "System.Boolean" => "true or false",
        "System.Double" or "System.Decimal" => "a number",
        "System.TimeSpan" => "a duration such as 00:00:30",
        _ => $"a valid {type[(type.LastIndexOf('.') + 1)..].ToLower(CultureInfo.InvariantCulture)}",
    };

    [GeneratedRegex(@"Failed to convert configuration value '(?<value>[^']*)' at '(?<key>[^']*)' to type '(?<type>[^']*)'")]
    private static partial Regex ConversionFailure();

    [GeneratedRegex(@"Feed:[A-Za-z]+:[A-Za-z]+")]
    private static partial Regex SettingKey();
}
