using System.Buffers.Text;
using System.Text;
using Microsoft.Extensions.Primitives;

namespace MarketStream.Gateway.Security;

/// <summary>
/// A bearer token offered as a WebSocket subprotocol, <c>bearer.&lt;base64url of the token&gt;</c>, beside
/// <c>marketstream.v1</c>: the way a browser authenticates a WebSocket, since it can set neither headers nor
/// anything but the URL and the subprotocols, and a URL ends up in logs and histories. The gateway never selects
/// (echoes) this subprotocol.
/// </summary>
public static class BearerSubprotocol
{
    public const string Prefix = "bearer.";

    public enum Result
    {
        None,
        Found,
        Malformed,
    }

    /// <summary>The subprotocol that carries <paramref name="token"/>.</summary>
    public static string For(string token) => Prefix + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(token));

    /// <summary>Looks for a bearer subprotocol among those offered (one header or several, comma-separated).</summary>
    public static Result TryRead(StringValues offered, out string? token)
    {
        token = null;
        foreach (var header in offered)
        {
            foreach (var range in (header ?? string.Empty).AsSpan().Split(','))
            {
                var entry = (header ?? string.Empty).AsSpan()[range].Trim();
                if (!entry.StartsWith(Prefix, StringComparison.Ordinal))
                {
                    continue;
                }

                var encoded = entry[Prefix.Length..];
                if (encoded.IsEmpty || !Base64Url.IsValid(encoded))
                {
                    return Result.Malformed;
                }

                var bytes = new byte[Base64Url.GetMaxDecodedLength(encoded.Length)];
                var written = Base64Url.DecodeFromChars(encoded, bytes);
                token = Encoding.UTF8.GetString(bytes, 0, written);
                return Result.Found;
            }
        }

        return Result.None;
    }

    /// <summary>True when a bearer subprotocol is among those offered.</summary>
    public static bool IsOffered(IEnumerable<string> protocols) => protocols.Any(p => p.StartsWith(Prefix, StringComparison.Ordinal));
}
