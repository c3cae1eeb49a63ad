using System.Security.Claims;
using MarketStream.Contracts;

namespace MarketStream.Gateway.Security;

/// <summary>
/// The symbols a connection may see, from its token's <c>symbols</c> claim: <c>*</c> (everything), an exact
/// symbol (<c>AAPL</c>), or a prefix ending in <c>*</c> (<c>FX:*</c>). Patterns compare case-insensitively, like
/// symbols. The claim may be a JSON array (several claims) or one space- or comma-separated string.
/// </summary>
public sealed class Entitlements
{
    public const string ClaimType = "symbols";

    private readonly HashSet<string> exact;
    private readonly string[] prefixes;
    private readonly bool all;

    private Entitlements(bool all, HashSet<string> exact, string[] prefixes)
    {
        this.all = all;
        this.exact = exact;
        this.prefixes = prefixes;
    }

    /// <summary>Everything: authentication is off.</summary>
    public static Entitlements All { get; } = new(true, [], []);

    /// <summary>Nothing: a token without a <c>symbols</c> claim.</summary>
    public static Entitlements None { get; } = new(false, [], []);

    public static Entitlements FromPatterns(IEnumerable<string> patterns)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        var exact = new HashSet<string>(StringComparer.Ordinal);
        var prefixes = new List<string>();
        foreach (var raw in patterns)
        {
            var pattern = raw.Trim().ToUpperInvariant();
            if (pattern == "*")
            {
                return All;
            }

            if (pattern.EndsWith('*'))
            {
                prefixes.Add(pattern[..^1]);
            }
            else if (pattern.Length > 0)
            {
                exact.Add(pattern);
            }
        }

        return exact.Count == 0 && prefixes.Count == 0 ? None : new Entitlements(false, exact, [.. prefixes]);
    }

    public static Entitlements FromPrincipal(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return FromPatterns(user.FindAll(ClaimType).SelectMany(c => c.Value.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries)));
    }

    /// <summary>Whether a normalised symbol is entitled.</summary>
    public bool Allows(string symbol)
    {
        if (all || exact.Contains(symbol))
        {
            return true;
        }

        foreach (var prefix in prefixes)
        {
            if (symbol.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The symbols of <paramref name="symbols"/> (as the client wrote them) that are valid but not entitled, normalised.</summary>
    public List<string> Forbidden(IEnumerable<string> symbols) =>
        symbols.Select(s => Symbols.TryNormalize(s, out var n) ? n : null).OfType<string>().Where(s => !Allows(s)).Distinct().ToList();
}
