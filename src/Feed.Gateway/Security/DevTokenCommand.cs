using System.CommandLine;
using System.Security.Claims;
using System.Text;
using MarketStream.Ingest;
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

        var symbolsOption = new Option<string>("--symbols") { Description = "comma-separated symbol patterns the token entitles (AAPL, FX:*, *)", DefaultValueFactory = _ => "*" };
        var subjectOption = new Option<string>("--subject") { Description = "the token's subject (a user id)", DefaultValueFactory = _ => "dev-user" };
        var minutesOption = new Option<int>("--minutes") { Description = "lifetime in minutes", DefaultValueFactory = _ => 60 };
        var command = new Command("token", "Mints a development token signed with Feed:Auth:SigningKey for Feed:Auth:Issuer and Audience; "
            + "settings in their configuration form (--Feed:Auth:SigningKey=...) are read from the command line too.")
        {
            symbolsOption, subjectOption, minutesOption,
        };
        command.SetAction(parse => Mint(configuration, parse.GetValue(symbolsOption)!, parse.GetValue(subjectOption)!, parse.GetValue(minutesOption), output, error));

        // Configuration settings (--Section:Key=value) were read into configuration already.
        var root = new RootCommand("The MarketStream gateway; run it without a command to serve.") { command };
        var parse = root.Parse(args.Where(a => !CommandLineSettings.IsSetting(a)).ToArray());
        return parse.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }

    private static int Mint(IConfiguration configuration, string symbols, string subject, int minutes, TextWriter output, TextWriter error)
    {
        if (minutes is < 1 or > 525_600)
        {
            error.WriteLine("token: --minutes must be between 1 and 525600.");
            return 2;
        }

        var auth = configuration.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new AuthOptions();
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
}
