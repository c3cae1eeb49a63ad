using System.Globalization;
using System.Security.Claims;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace MarketStream.Gateway.Security;

/// <summary>
/// <c>Feed.Gateway token --symbols AAPL,FX:* [--subject alice] [--minutes 60]</c>: mints a token signed with the
/// configured <c>Feed:Auth:SigningKey</c> for <c>Feed:Auth:Issuer</c>/<c>Audience</c>, for development, the README
/// and the load tests. It prints only the token, so it can be captured into a variable.
/// </summary>
public static class DevTokenCommand
{
    public static bool IsInvocation(string[] args) => args is ["token", ..];

    public static int Run(string[] args, IConfiguration configuration, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var auth = configuration.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new AuthOptions();
        var symbols = Value(args, "--symbols") ?? "*";
        var subject = Value(args, "--subject") ?? "dev-user";
        var minutes = int.TryParse(Value(args, "--minutes"), NumberStyles.None, CultureInfo.InvariantCulture, out var m) ? m : 60;
        if (string.IsNullOrEmpty(auth.SigningKey) || Encoding.UTF8.GetByteCount(auth.SigningKey) < 32
            || string.IsNullOrEmpty(auth.Issuer) || string.IsNullOrEmpty(auth.Audience))
        {
            error.WriteLine("token: set Feed:Auth:SigningKey (32+ bytes), Feed:Auth:Issuer and Feed:Auth:Audience (environment, appsettings or --Feed:Auth:…=…).");
            return 2;
        }

        var claims = new List<Claim> { new("sub", subject) };
        claims.AddRange(symbols.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => new Claim(Entitlements.ClaimType, s)));
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = auth.Issuer,
            Audience = auth.Audience,
            Subject = new ClaimsIdentity(claims),
            Expires = DateTime.UtcNow.AddMinutes(minutes),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(auth.SigningKey)), SecurityAlgorithms.HmacSha256),
        });
        output.WriteLine(token);
        return 0;
    }

    private static string? Value(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
