using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using MarketStream.Contracts;
using MarketStream.Gateway.Security;
using Microsoft.Extensions.Configuration;

namespace MarketStream.Gateway.Tests;

/// <summary>PROTOCOL.md section 2, "Access": tokens, entitlements, origins, connection limits, TLS.</summary>
public class SecurityTests
{
    private const string Key = "test-signing-key-that-is-at-least-32-bytes-long!";

    internal static readonly (string, object)[] AuthOn =
    [
        ("Feed:Auth:Enabled", true), ("Feed:Auth:Issuer", "marketstream-tests"), ("Feed:Auth:Audience", "marketstream"),
        ("Feed:Auth:SigningKey", Key), ("Feed:Auth:ClockSkewSeconds", 0),
        ("Feed:Simulator:Symbols", "AAPL,MSFT,FX:EURUSD"), ("Feed:Simulator:TicksPerSecond", 300),
    ];

    [Fact]
    public async Task Without_a_valid_token_nothing_upgrades_and_the_API_answers_401()
    {
        await using var gateway = await GatewayHost.StartAsync(AuthOn);
        var noToken = await Assert.ThrowsAsync<WebSocketException>(() => ProtocolClient.ConnectAsync(gateway.Address));
        Assert.Contains("401", noToken.Message, StringComparison.Ordinal);

        var otherKey = Token("*", signingKey: "another-signing-key-that-is-32-bytes-or-more");
        var badKey = await Assert.ThrowsAsync<WebSocketException>(() => ProtocolClient.ConnectAsync(gateway.Address, $"access_token={otherKey}"));
        Assert.Contains("401", badKey.Message, StringComparison.Ordinal);

        var expired = Token("*", minutes: -5);
        await Assert.ThrowsAsync<WebSocketException>(() => ProtocolClient.ConnectAsync(gateway.Address, $"access_token={expired}"));

        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Http.GetAsync(new Uri("/api/symbols", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Http.GetAsync(new Uri("/sse?symbols=AAPL", UriKind.Relative))).StatusCode);

        // Health, metrics and the board stay open: probes and scrapers carry no user token.
        Assert.Equal(HttpStatusCode.OK, (await gateway.Http.GetAsync(new Uri("/healthz/live", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Http.GetAsync(new Uri("/", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task A_valid_token_in_the_header_or_the_query_connects()
    {
        await using var gateway = await GatewayHost.StartAsync(AuthOn);
        var token = Token("*");
        await using (var viaHeader = await ProtocolClient.ConnectAsync(gateway.Address, configure: o => o.SetRequestHeader("Authorization", $"Bearer {token}")))
        {
            Assert.Equal("hello", (await viaHeader.ReceiveAsync())!.Value.Type());
        }

        await using var viaQuery = await ProtocolClient.ConnectAsync(gateway.Address, $"access_token={token}");
        Assert.Equal("hello", (await viaQuery.ReceiveAsync())!.Value.Type());
    }

    [Fact]
    public async Task A_token_for_AAPL_and_FX_cannot_see_MSFT_by_any_endpoint()
    {
        await using var gateway = await GatewayHost.StartAsync(AuthOn);
        await Eventually.Holds(() => Task.FromResult(gateway.State.Count == 3), "state for the three symbols");
        var token = Token("AAPL FX:*");

        await using var client = await ProtocolClient.ConnectAsync(gateway.Address, $"access_token={token}&throttleMs=0");
        await client.ReceiveUntilAsync("hello");
        await client.SendAsync("""{"op":"subscribe","id":3,"symbols":["aapl","MSFT","FX:EURUSD"]}""");
        var (error, before) = await client.ReceiveUntilAsync("error");
        Assert.Equal(ErrorCodes.Forbidden, error.GetProperty("code").GetString());
        Assert.Equal(3, error.GetProperty("id").GetInt32());
        Assert.Equal(["MSFT"], error.GetProperty("symbols").EnumerateArray().Select(s => s.GetString()));
        var subscribed = before.Single(m => m.Type() == "subscribed");
        Assert.Equal(["AAPL", "FX:EURUSD"], subscribed.GetProperty("symbols").EnumerateArray().Select(s => s.GetString()));
        var snapshot = before.Single(m => m.Type() == "snapshot");
        Assert.DoesNotContain(snapshot.Quotes(), q => q.GetProperty("symbol").GetString() == "MSFT");
        for (var i = 0; i < 10; i++)
        {
            var updates = (await client.ReceiveUntilAsync("updates")).Message;
            Assert.DoesNotContain(updates.Quotes(), q => q.GetProperty("symbol").GetString() == "MSFT");
        }

        using var http = new HttpClient { BaseAddress = gateway.Address };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/api/quotes/AAPL", UriKind.Relative))).StatusCode);
        var quote = await http.GetAsync(new Uri("/api/quotes/MSFT", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Forbidden, quote.StatusCode);
        Assert.Contains("forbidden", await quote.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var symbols = JsonSerializer.Deserialize<string[]>(await http.GetStringAsync(new Uri("/api/symbols", UriKind.Relative)))!;
        Assert.Equal(["AAPL", "FX:EURUSD"], symbols);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync(new Uri("/sse?symbols=AAPL,MSFT", UriKind.Relative))).StatusCode);
        using var sse = await http.GetAsync(new Uri("/sse?symbols=AAPL", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, sse.StatusCode);
    }

    [Fact]
    public async Task A_connection_ends_when_its_token_expires()
    {
        await using var gateway = await GatewayHost.StartAsync(AuthOn);
        await using var client = await ProtocolClient.ConnectAsync(gateway.Address, $"access_token={Token("*", seconds: 3)}");
        await client.ReceiveUntilAsync("hello");
        Assert.Equal(CloseCodes.PolicyViolation, await client.ReceiveCloseAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal("token expired", client.Socket.CloseStatusDescription);
    }

    [Fact]
    public async Task A_foreign_origin_is_refused_with_403_before_the_upgrade()
    {
        await using var gateway = await GatewayHost.StartAsync(("Feed:Auth:AllowedOrigins", "https://terminal.example.com"), ("Feed:Simulator:Enabled", false));
        var foreign = await Assert.ThrowsAsync<WebSocketException>(() =>
            ProtocolClient.ConnectAsync(gateway.Address, configure: o => o.SetRequestHeader("Origin", "https://evil.example.net")));
        Assert.Contains("403", foreign.Message, StringComparison.Ordinal);

        await using var allowed = await ProtocolClient.ConnectAsync(gateway.Address, configure: o => o.SetRequestHeader("Origin", "https://terminal.example.com"));
        Assert.Equal("hello", (await allowed.ReceiveAsync())!.Value.Type());
        await using var sameOrigin = await ProtocolClient.ConnectAsync(gateway.Address, configure: o => o.SetRequestHeader("Origin", $"http://{gateway.Address.Authority}"));
        Assert.Equal("hello", (await sameOrigin.ReceiveAsync())!.Value.Type());
        await using var noOrigin = await ProtocolClient.ConnectAsync(gateway.Address);
        Assert.Equal("hello", (await noOrigin.ReceiveAsync())!.Value.Type());
    }

    [Fact]
    public async Task Connections_per_user_and_per_address_are_limited()
    {
        await using var gateway = await GatewayHost.StartAsync([.. AuthOn, ("Feed:Auth:MaxConnectionsPerSubject", 2), ("Feed:Auth:MaxConnectionsPerIp", 3)]);
        var alice = Token("*", subject: "alice");
        await using var a1 = await ProtocolClient.ConnectAsync(gateway.Address, $"access_token={alice}");
        await using var a2 = await ProtocolClient.ConnectAsync(gateway.Address, $"access_token={alice}");
        var third = await Assert.ThrowsAsync<WebSocketException>(() => ProtocolClient.ConnectAsync(gateway.Address, $"access_token={alice}"));
        Assert.Contains("429", third.Message, StringComparison.Ordinal);

        await using var b1 = await ProtocolClient.ConnectAsync(gateway.Address, $"access_token={Token("*", subject: "bob")}");
        var fourthFromAddress = await Assert.ThrowsAsync<WebSocketException>(() => ProtocolClient.ConnectAsync(gateway.Address, $"access_token={Token("*", subject: "carol")}"));
        Assert.Contains("429", fourthFromAddress.Message, StringComparison.Ordinal);

        // A slot freed is a slot available again.
        await a1.DisposeAsync();
        await Eventually.Holds(() => Task.FromResult(gateway.Get<MarketStream.Gateway.Streaming.SessionRegistry>().Count == 2), "alice's first connection to be gone");
        await using var a3 = await ProtocolClient.ConnectAsync(gateway.Address, $"access_token={alice}");
        Assert.Equal("hello", (await a3.ReceiveAsync())!.Value.Type());
    }

    [Fact]
    public async Task Wss_works_through_Kestrels_HTTPS_configuration_with_a_certificate_made_here()
    {
        var directory = Directory.CreateTempSubdirectory("marketstream-tls-");
        try
        {
            using var certificate = SelfSigned("127.0.0.1");
            var path = Path.Combine(directory.FullName, "gateway.pfx");
            await File.WriteAllBytesAsync(path, certificate.Export(X509ContentType.Pkcs12, "test-password"));
            await using var gateway = await GatewayHost.StartAsync(
                ("Kestrel:Endpoints:Https:Url", "https://127.0.0.1:0"),
                ("Kestrel:Endpoints:Https:Certificate:Path", path),
                ("Kestrel:Endpoints:Https:Certificate:Password", "test-password"),
                ("Feed:Simulator:Symbols", "AAPL"));
            Assert.Equal("https", gateway.Address.Scheme);

            var thumbprint = certificate.Thumbprint;
            await using var client = await ProtocolClient.ConnectAsync(gateway.Address, configure: o =>
                o.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
                    errors == SslPolicyErrors.None || (cert is not null && new X509Certificate2(cert).Thumbprint == thumbprint));
            Assert.Equal("hello", (await client.ReceiveAsync())!.Value.Type());

            // Over TLS the stream is the same: the AAPL snapshot, then updates with its quotes. The gateway must
            // know AAPL before the subscribe, or the snapshot is rightly empty.
            await Eventually.Holds(() => Task.FromResult(gateway.State.Count == 1), "a quote of AAPL");
            await client.SendAsync("""{"op":"subscribe","symbols":["AAPL"]}""");
            var (snapshot, _) = await client.ReceiveUntilAsync("snapshot");
            Assert.Equal(["AAPL"], snapshot.Quotes().Select(q => q.GetProperty("symbol").GetString()));
            var (updates, _) = await client.ReceiveUntilAsync("updates");
            Assert.All(updates.Quotes(), q => Assert.Equal("AAPL", q.GetProperty("symbol").GetString()));
            Assert.NotEmpty(updates.Quotes());
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_dev_token_command_needs_a_key_and_mints_tokens_the_gateway_accepts()
    {
        var empty = new ConfigurationBuilder().Build();
        Assert.Equal(2, DevTokenCommand.Run(["token"], empty, TextWriter.Null, TextWriter.Null));

        var output = new StringWriter();
        Assert.Equal(0, DevTokenCommand.Run(["token", "--symbols", "AAPL,FX:*", "--subject", "alice"], Settings(), output, TextWriter.Null));
        var token = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(output.ToString().Trim());
        Assert.Equal("alice", token.Subject);
        Assert.Equal(["AAPL", "FX:*"], token.Claims.Where(c => c.Type == "symbols").Select(c => c.Value));
        Assert.Equal("marketstream-tests", token.Issuer);
    }

    [Fact]
    public void The_dev_token_command_prints_usage_and_refuses_unknown_options()
    {
        var help = new StringWriter();
        Assert.Equal(0, DevTokenCommand.Run(["token", "--help"], Settings(), help, TextWriter.Null));
        Assert.Contains("token [options]", help.ToString(), StringComparison.Ordinal);

        var error = new StringWriter();
        var output = new StringWriter();
        Assert.NotEqual(0, DevTokenCommand.Run(["token", "--symbol", "AAPL"], Settings(), output, error));
        Assert.Contains("--symbol", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("eyJ", output.ToString(), StringComparison.Ordinal);

        Assert.NotEqual(0, DevTokenCommand.Run(["token", "--minutes", "soon"], Settings(), TextWriter.Null, TextWriter.Null));
        Assert.NotEqual(0, DevTokenCommand.Run(["token", "--minutes", "0"], Settings(), TextWriter.Null, TextWriter.Null));
    }

    private static IConfiguration Settings(string signingKey = Key) => new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Feed:Auth:Issuer"] = "marketstream-tests",
        ["Feed:Auth:Audience"] = "marketstream",
        ["Feed:Auth:SigningKey"] = signingKey,
    }).Build();

    /// <summary>A token from the dev token command, the way the README tells users to get one.</summary>
    internal static string Token(string symbols, string subject = "tester", int minutes = 60, int? seconds = null, string signingKey = Key)
    {
        if (seconds is not null || minutes < 0)
        {
            var handler = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler();
            return handler.CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
            {
                Issuer = "marketstream-tests",
                Audience = "marketstream",
                Claims = new Dictionary<string, object> { ["sub"] = subject, ["symbols"] = symbols.Split(' ') },
                NotBefore = DateTime.UtcNow.AddMinutes(Math.Min(minutes, 0) - 1),
                IssuedAt = DateTime.UtcNow.AddMinutes(Math.Min(minutes, 0) - 1),
                Expires = seconds is { } s ? DateTime.UtcNow.AddSeconds(s) : DateTime.UtcNow.AddMinutes(minutes),
                SigningCredentials = new Microsoft.IdentityModel.Tokens.SigningCredentials(
                    new Microsoft.IdentityModel.Tokens.SymmetricSecurityKey(System.Text.Encoding.UTF8.GetBytes(signingKey)),
                    Microsoft.IdentityModel.Tokens.SecurityAlgorithms.HmacSha256),
            });
        }

        var output = new StringWriter();
        Assert.Equal(0, DevTokenCommand.Run(["token", "--symbols", symbols.Replace(' ', ','), "--subject", subject, "--minutes", minutes.ToString(System.Globalization.CultureInfo.InvariantCulture)], Settings(signingKey), output, TextWriter.Null));
        return output.ToString().Trim();
    }

    private static X509Certificate2 SelfSigned(string ip)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={ip}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Parse(ip));
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }
}
