using System.Text;
using MarketStream.Contracts;
using MarketStream.Gateway.Http;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace MarketStream.Gateway.Security;

/// <summary>
/// Authentication (a bearer JWT from the <c>Authorization</c> header, a <c>bearer.</c> WebSocket subprotocol for
/// browsers, or <c>access_token</c> in the query where neither is possible), the origin allow-list, the
/// authorization requirement on the streaming and API endpoints, and tokens masked in every log entry.
/// </summary>
public static partial class SecurityExtensions
{
    public static IServiceCollection AddGatewaySecurity(this IServiceCollection services, IConfiguration configuration)
    {
        AddTokenRedaction(services);
        services.AddOptions<AuthOptions>()
            .Bind(configuration.GetSection(AuthOptions.Section))
            .Validate(o => !o.Enabled || !string.IsNullOrWhiteSpace(o.Issuer), "Feed:Auth:Issuer is required when Feed:Auth:Enabled is true.")
            .Validate(o => !o.Enabled || !string.IsNullOrWhiteSpace(o.Audience), "Feed:Auth:Audience is required when Feed:Auth:Enabled is true.")
            .Validate(o => !o.Enabled || string.IsNullOrEmpty(o.SigningKey) != string.IsNullOrEmpty(o.Authority),
                "Feed:Auth needs exactly one of SigningKey (a shared HMAC key) or Authority (an OpenID Connect issuer) when enabled.")
            .Validate(o => string.IsNullOrEmpty(o.SigningKey) || Encoding.UTF8.GetByteCount(o.SigningKey) >= 32,
                "Feed:Auth:SigningKey must be at least 32 bytes (256 bits) for HMAC-SHA256.")
            .Validate(o => o.AllowedOriginList.All(IsOrigin), "Feed:Auth:AllowedOrigins must be a comma-separated list of origins such as https://terminal.example.com.")
            .Validate(o => o.MaxConnectionsPerSubject is >= 1 and <= 100_000, "Feed:Auth:MaxConnectionsPerSubject must be between 1 and 100000.")
            .Validate(o => o.MaxConnectionsPerIp is >= 0 and <= 1_000_000, "Feed:Auth:MaxConnectionsPerIp must be between 0 (off) and 1000000.")
            .Validate(o => o.ClockSkewSeconds is >= 0 and <= 600, "Feed:Auth:ClockSkewSeconds must be between 0 and 600.")
            .ValidateOnStart();

        // The authentication services exist only when authentication is on, so an open development gateway
        // pays nothing per request.
        if (configuration.GetValue<bool>($"{AuthOptions.Section}:Enabled"))
        {
            services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
            services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
                .Configure<IOptions<AuthOptions>>((jwt, auth) => ConfigureJwt(jwt, auth.Value));
            services.AddAuthorization();
        }

        return services;
    }

    /// <summary>The origin check, then (when enabled) authentication and authorization; before the endpoints.</summary>
    public static WebApplication UseGatewaySecurity(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var auth = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MarketStream.Gateway.Security");
        var origins = auth.AllowedOriginList;
        if (origins.Count > 0)
        {
            app.Use((context, next) => IsStreaming(context.Request.Path) && !OriginAllowed(context, origins)
                ? HttpErrors.WriteAsync(context, StatusCodes.Status403Forbidden, "forbidden_origin", $"origin {context.Request.Headers.Origin} is not allowed")
                : next(context));
        }

        if (auth.Enabled)
        {
            LogAuthOn(logger, auth.Issuer!, auth.Authority ?? "a shared signing key");
            app.UseAuthentication();
            app.UseAuthorization();
        }
        else
        {
            LogAuthOff(logger);
        }

        return app;
    }

    /// <summary>Requires an authenticated user on the endpoint when authentication is on.</summary>
    public static TBuilder RequireStreamAuthorization<TBuilder>(this TBuilder builder, IServiceProvider services)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.GetRequiredService<IOptions<AuthOptions>>().Value.Enabled)
        {
            builder.RequireAuthorization();
        }

        return builder;
    }

    private static void ConfigureJwt(JwtBearerOptions jwt, AuthOptions auth)
    {
        // Keep claim names as issued ("sub", "symbols"), not mapped to long XML-era URIs.
        jwt.MapInboundClaims = false;
        jwt.TokenValidationParameters = new TokenValidationParameters
        {
            ValidIssuer = auth.Issuer,
            ValidAudience = auth.Audience,
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            ClockSkew = TimeSpan.FromSeconds(auth.ClockSkewSeconds),
        };
        if (!string.IsNullOrEmpty(auth.SigningKey))
        {
            jwt.TokenValidationParameters.IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(auth.SigningKey));
            jwt.TokenValidationParameters.ValidAlgorithms = [SecurityAlgorithms.HmacSha256];
        }
        else
        {
            jwt.Authority = auth.Authority;
            jwt.Audience = auth.Audience;
        }

        jwt.Events = new JwtBearerEvents
        {
            // Browsers cannot set headers on WebSocket or EventSource requests. A WebSocket carries the token as a
            // subprotocol (never echoed back); an EventSource, and older clients, in the query.
            OnMessageReceived = context =>
            {
                if (!string.IsNullOrEmpty(context.Token))
                {
                    return Task.CompletedTask;
                }

                switch (BearerSubprotocol.TryRead(context.Request.Headers.SecWebSocketProtocol, out var offered))
                {
                    case BearerSubprotocol.Result.Found:
                        context.Token = offered;
                        break;
                    case BearerSubprotocol.Result.Malformed:
                        context.Fail("the bearer subprotocol is not base64url");
                        break;
                    default:
                        if (context.Request.Query.TryGetValue("access_token", out var token))
                        {
                            context.Token = token;
                        }

                        break;
                }

                return Task.CompletedTask;
            },
        };
    }

    /// <summary>
    /// Every logger the gateway makes masks tokens (<see cref="TokenRedaction"/>): the factory that makes them is
    /// wrapped, so it holds for every category and level, ASP.NET Core's request logs included, and for whatever
    /// provider writes the entries.
    /// </summary>
    private static void AddTokenRedaction(IServiceCollection services)
    {
        var original = services.LastOrDefault(d => d.ServiceType == typeof(ILoggerFactory) && !d.IsKeyedService);
        if (original is null || original.ImplementationType == typeof(RedactingLoggerFactory))
        {
            return;
        }

        services.Remove(original);
        if (original.ImplementationType is { } type)
        {
            // The original factory, made by the container exactly as before, under its own type.
            services.Add(ServiceDescriptor.Singleton(type, type));
            services.AddSingleton<ILoggerFactory>(sp => new RedactingLoggerFactory((ILoggerFactory)sp.GetRequiredService(type)));
        }
        else if (original.ImplementationInstance is ILoggerFactory instance)
        {
            services.AddSingleton<ILoggerFactory>(new RedactingLoggerFactory(instance));
        }
        else if (original.ImplementationFactory is { } factory)
        {
            services.AddSingleton<ILoggerFactory>(sp => new RedactingLoggerFactory((ILoggerFactory)factory(sp)));
        }
    }

    private static bool OriginAllowed(HttpContext context, IReadOnlyList<string> allowed)
    {
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return true;
        }

        if (allowed.Any(a => string.Equals(a.TrimEnd('/'), origin.TrimEnd('/'), StringComparison.OrdinalIgnoreCase)))
        {
            return true;
        }

        // The gateway's own pages (the quote board) are same-origin.
        return Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            && string.Equals(uri.Authority, context.Request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }

    private static bool IsOrigin(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.AbsolutePath == "/";

    private static bool IsStreaming(PathString path) => path.StartsWithSegments("/ws") || path.StartsWithSegments("/sse");

    [LoggerMessage(EventId = 800, Level = LogLevel.Warning, Message = "Authentication is OFF (Feed:Auth:Enabled=false): every connection is accepted and may see every symbol. Turn it on for any gateway users reach.")]
    private static partial void LogAuthOff(ILogger logger);

    [LoggerMessage(EventId = 801, Level = LogLevel.Information, Message = "Authentication is on: bearer JWTs from {Issuer}, signed with {KeySource}")]
    private static partial void LogAuthOn(ILogger logger, string issuer, string keySource);
}
