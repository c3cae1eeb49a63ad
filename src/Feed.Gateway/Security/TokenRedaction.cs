using System.Collections;
using System.Text.RegularExpressions;

namespace MarketStream.Gateway.Security;

/// <summary>
/// Finds bearer tokens in text and replaces them with <c>***</c>: an <c>access_token</c> query parameter, a
/// <c>bearer.</c> WebSocket subprotocol, an <c>Authorization: Bearer</c> value, and any JWT wherever it appears.
/// Logs are shipped, kept and read by many more people than a token's owner; none of them needs the token.
/// </summary>
public static partial class TokenRedaction
{
    public const string Mask = "***";

    /// <summary>The text with every token in it masked; the same instance when there is none.</summary>
    public static string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return MayHoldToken(text) ? Tokens().Replace(text, Mask) : text;
    }

    /// <summary>A cheap first look: false means the text certainly holds no token.</summary>
    public static bool MayHoldToken(string text) =>
        text.Contains("access_token", StringComparison.OrdinalIgnoreCase)
        || text.Contains("bearer", StringComparison.OrdinalIgnoreCase)
        || text.Contains("eyJ", StringComparison.Ordinal);

    // The value of access_token in a query (up to the next separator), the token of a bearer subprotocol, an
    // Authorization header's credential (16 characters or more, so prose such as "Bearer was not authenticated"
    // stays readable), and a JWT anywhere (three base64url parts, the first starting as a JSON object).
    [GeneratedRegex(@"(?<=access_token=)[^&\s""'#,;]+|(?<=\bbearer\.)[A-Za-z0-9_\-=]+|(?<=\bBearer\s+)[A-Za-z0-9_\-\.=+/]{16,}|eyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Tokens();
}

/// <summary>
/// The logger factory the gateway hands out: every logger it makes masks tokens (<see cref="TokenRedaction"/>) in
/// the message, the structured values, the scopes and the exception text of every entry, whatever its level or
/// category, ASP.NET Core's own request logs included, before any provider sees the entry.
/// </summary>
internal sealed class RedactingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new RedactingLogger(inner.CreateLogger(categoryName));

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose() => inner.Dispose();
}

internal sealed class RedactingLogger(ILogger inner) : ILogger
{
    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => RedactedEntry.NeedsRedaction(state) ? inner.BeginScope(RedactedEntry.Of(state, null)) : inner.BeginScope(state);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!inner.IsEnabled(logLevel))
        {
            return;
        }

        var message = TokenRedaction.Redact(formatter(state, exception));
        var redactedException = exception is not null && TokenRedaction.MayHoldToken(exception.ToString())
            ? new RedactedException(exception)
            : exception;
        inner.Log(logLevel, eventId, RedactedEntry.Of(state, message), redactedException, static (s, _) => s.ToString());
    }
}

/// <summary>A log entry's state or a scope, its string values masked; formats as the masked message.</summary>
internal sealed class RedactedEntry : IReadOnlyList<KeyValuePair<string, object?>>
{
    private readonly KeyValuePair<string, object?>[] values;
    private readonly string text;

    private RedactedEntry(KeyValuePair<string, object?>[] values, string text)
    {
        this.values = values;
        this.text = text;
    }

    public static bool NeedsRedaction<TState>(TState state)
    {
        if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
        {
            foreach (var pair in pairs)
            {
                if (pair.Value is string s && TokenRedaction.MayHoldToken(s))
                {
                    return true;
                }
            }

            return false;
        }

        return state is string text && TokenRedaction.MayHoldToken(text);
    }

    public static RedactedEntry Of<TState>(TState state, string? message)
    {
        var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
            ? pairs.Select(p => p.Value is string s ? new KeyValuePair<string, object?>(p.Key, TokenRedaction.Redact(s)) : p).ToArray()
            : [];
        return new RedactedEntry(values, message ?? TokenRedaction.Redact(state?.ToString() ?? string.Empty));
    }

    public int Count => values.Length;

    public KeyValuePair<string, object?> this[int index] => values[index];

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)values).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => text;
}

/// <summary>Stands in for an exception whose text held a token: same type name and text, the token masked.</summary>
internal sealed class RedactedException(Exception original) : Exception(TokenRedaction.Redact(original.Message))
{
    private readonly string text = TokenRedaction.Redact(original.ToString());

    public override string? StackTrace => null;

    public override string ToString() => text;
}
