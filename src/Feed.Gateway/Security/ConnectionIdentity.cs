using System.IdentityModel.Tokens.Jwt;
using System.Security.Claims;

namespace MarketStream.Gateway.Security;

/// <summary>Who is connecting, as far as limits and entitlements care: subject, address, symbols, token expiry.</summary>
internal sealed record ConnectionIdentity(string? Subject, string Address, Entitlements Entitlements, DateTimeOffset? ExpiresAt)
{
    public static ConnectionIdentity Of(HttpContext context, bool authEnabled)
    {
        var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (!authEnabled)
        {
            return new ConnectionIdentity(null, address, Entitlements.All, null);
        }

        var user = context.User;
        var subject = user.FindFirstValue(ClaimTypes.NameIdentifier) ?? user.FindFirstValue(JwtRegisteredClaimNames.Sub);
        DateTimeOffset? expires = long.TryParse(user.FindFirstValue(JwtRegisteredClaimNames.Exp), out var exp)
            ? DateTimeOffset.FromUnixTimeSeconds(exp)
            : null;
        return new ConnectionIdentity(subject, address, Entitlements.FromPrincipal(user), expires);
    }
}
