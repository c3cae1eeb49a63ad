using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// The opening handshake of RFC 6455 (section 4.2) on an HTTP/1.1 upgrade request: whether a request is one,
/// the subprotocols it offers, and the 101 answer that hands the connection over as a stream.
/// </summary>
internal static class WebSocketHandshake
{
    // RFC 6455 section 1.3: appended to the client's key before hashing.
    private static readonly byte[] KeyGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"u8.ToArray();

    /// <summary>
    /// A GET that asks to upgrade to <c>websocket</c>, version 13, with a key of 16 bytes in base64 (what the RFC
    /// requires of a client), on a connection the server can upgrade.
    /// </summary>
    public static bool IsUpgradeRequest(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method)
            || context.Features.Get<IHttpUpgradeFeature>() is not { IsUpgradableRequest: true })
        {
            return false;
        }

        var headers = request.Headers;
        return HasToken(headers.Connection, "Upgrade")
            && HasToken(headers.Upgrade, "websocket")
            && headers.SecWebSocketVersion.ToString() == "13"
            && IsValidKey(headers.SecWebSocketKey.ToString());
    }

    /// <summary>The subprotocols offered, in the client's order (one header or several, comma-separated).</summary>
    public static List<string> RequestedProtocols(HttpRequest request)
    {
        var protocols = new List<string>();
        foreach (var header in request.Headers.SecWebSocketProtocol)
        {
            foreach (var range in (header ?? string.Empty).AsSpan().Split(','))
            {
                var protocol = (header ?? string.Empty).AsSpan()[range].Trim();
                if (!protocol.IsEmpty)
                {
                    protocols.Add(protocol.ToString());
                }
            }
        }

        return protocols;
    }

    /// <summary>
    /// Answers 101 Switching Protocols, selecting <paramref name="subProtocol"/> and the <paramref name="extensions"/>
    /// agreed (<c>Sec-WebSocket-Extensions</c>) if any, and returns the connection's stream.
    /// </summary>
    public static Task<Stream> AcceptAsync(HttpContext context, string? subProtocol, string? extensions = null)
    {
        var headers = context.Response.Headers;
        headers.Upgrade = "websocket";
        headers.SecWebSocketAccept = AcceptKey(context.Request.Headers.SecWebSocketKey.ToString());
        if (subProtocol is not null)
        {
            headers.SecWebSocketProtocol = subProtocol;
        }

        if (extensions is not null)
        {
            headers.SecWebSocketExtensions = extensions;
        }

        // Kestrel sets the status and the Connection header, and writes the answer.
        return context.Features.GetRequiredFeature<IHttpUpgradeFeature>().UpgradeAsync();
    }

    /// <summary><c>Sec-WebSocket-Accept</c>: base64 of the SHA-1 of the key and the RFC's GUID.</summary>
    internal static string AcceptKey(string key)
    {
        Span<byte> input = stackalloc byte[24 + 36];
        var length = Encoding.ASCII.GetBytes(key, input);
        KeyGuid.CopyTo(input[length..]);
        Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
#pragma warning disable CA5350 // SHA-1 is what RFC 6455 prescribes here; it is not used for security.
        SHA1.HashData(input[..(length + KeyGuid.Length)], hash);
#pragma warning restore CA5350
        return Convert.ToBase64String(hash);
    }

    private static bool IsValidKey(string key)
    {
        Span<byte> decoded = stackalloc byte[18];
        return key.Length == 24 && Convert.TryFromBase64String(key, decoded, out var written) && written == 16;
    }

    private static bool HasToken(StringValues values, string token)
    {
        foreach (var value in values)
        {
            foreach (var range in (value ?? string.Empty).AsSpan().Split(','))
            {
                if ((value ?? string.Empty).AsSpan()[range].Trim().Equals(token, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
