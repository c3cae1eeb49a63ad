namespace MarketStream.Gateway.Security;

/// <summary>
/// <c>Feed:Auth</c>: who may connect and what they may see (PROTOCOL.md section 2, "Access"). Off by default
/// for the embedded development setup; a deployment facing users turns it on and sets a key or authority.
/// </summary>
public sealed class AuthOptions
{
    public const string Section = "Feed:Auth";

    /// <summary>Require a valid bearer JWT on <c>/ws</c>, <c>/sse</c> and <c>/api</c>. Defaults to false (and the gateway says so in its log).</summary>
    public bool Enabled { get; set; }

    /// <summary>Expected <c>iss</c> of tokens. Required when enabled.</summary>
    public string? Issuer { get; set; }

    /// <summary>Expected <c>aud</c> of tokens. Required when enabled.</summary>
    public string? Audience { get; set; }

    /// <summary>
    /// Symmetric HMAC-SHA256 key (at least 32 bytes of UTF-8) that signs tokens. Set this or <see cref="Authority"/>.
    /// Keep it in a secret store, not in a ConfigMap.
    /// </summary>
    public string? SigningKey { get; set; }

    /// <summary>An OpenID Connect authority whose published keys sign tokens (for example an identity provider's issuer URL). Set this or <see cref="SigningKey"/>.</summary>
    public string? Authority { get; set; }

    /// <summary>
    /// Origins a browser may open <c>/ws</c> and <c>/sse</c> from, comma-separated (<c>https://terminal.example.com</c>). A request
    /// from any other origin gets 403 before the upgrade (cross-site WebSocket hijacking). The gateway's own
    /// origin (its quote board) is always allowed, and so are clients that send no Origin (non-browser ones).
    /// Empty (the default) checks nothing.
    /// </summary>
    public string? AllowedOrigins { get; set; }

    /// <summary>Open connections one token subject may hold on this gateway; past it, 429. Defaults to 20; 1 to 100,000.</summary>
    public int MaxConnectionsPerSubject { get; set; } = 20;

    /// <summary>
    /// Open connections one client IP may hold on this gateway; past it, 429. Defaults to 0, off: behind an
    /// ingress or load balancer every client shares the proxy's address, so the limit would cap the whole
    /// gateway. Set it (a few hundred: NATs put many users behind one address) where clients connect directly.
    /// 0 to 1,000,000.
    /// </summary>
    public int MaxConnectionsPerIp { get; set; }

    /// <summary>Tolerated clock difference with the token issuer, in seconds. Defaults to 30; 0 to 600.</summary>
    public int ClockSkewSeconds { get; set; } = 30;

    internal IReadOnlyList<string> AllowedOriginList =>
        (AllowedOrigins ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
