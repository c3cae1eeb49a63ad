using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using MarketStream.Gateway.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace MarketStream.Gateway.Tests;

/// <summary>Tokens never in logs or URLs: the bearer subprotocol, and masking in every log entry and trace.</summary>
public class TokenRedactionTests
{
    [Theory]
    [InlineData("GET http://h/ws?access_token=abc.def-ghi&throttleMs=0 - 101", "GET http://h/ws?access_token=***&throttleMs=0 - 101")]
    [InlineData("GET /sse?symbols=AAPL&ACCESS_TOKEN=xyz", "GET /sse?symbols=AAPL&ACCESS_TOKEN=***")]
    [InlineData("Sec-WebSocket-Protocol: marketstream.v1, bearer.ZXlKaGJH", "Sec-WebSocket-Protocol: marketstream.v1, bearer.***")]
    [InlineData("Authorization: Bearer abcdefghijklmnop.qrstuvwxyz", "Authorization: Bearer ***")]
    [InlineData("Bearer was not authenticated. Failure message: the bearer subprotocol is not base64url", "Bearer was not authenticated. Failure message: the bearer subprotocol is not base64url")]
    [InlineData("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl seen", "token *** seen")]
    [InlineData("Request finished HTTP/1.1 GET http://h/api/quotes/AAPL - 200", "Request finished HTTP/1.1 GET http://h/api/quotes/AAPL - 200")]
    public void Redact_masks_every_form_a_token_takes_and_leaves_the_rest(string text, string expected) =>
        Assert.Equal(expected, TokenRedaction.Redact(text));

    [Fact]
    public void The_bearer_subprotocol_is_found_among_those_offered_and_a_bad_one_is_told_apart()
    {
        const string Jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";
        var offered = BearerSubprotocol.For(Jwt);
        Assert.StartsWith("bearer.", offered, StringComparison.Ordinal);
        Assert.DoesNotContain('=', offered);

        Assert.Equal(BearerSubprotocol.Result.Found, BearerSubprotocol.TryRead(new StringValues($"marketstream.v1, {offered}"), out var token));
        Assert.Equal(Jwt, token);
        Assert.Equal(BearerSubprotocol.Result.Found, BearerSubprotocol.TryRead(new StringValues(["marketstream.v1", offered]), out token));
        Assert.Equal(Jwt, token);
        Assert.Equal(BearerSubprotocol.Result.None, BearerSubprotocol.TryRead(new StringValues("marketstream.v1"), out _));
        Assert.Equal(BearerSubprotocol.Result.None, BearerSubprotocol.TryRead(StringValues.Empty, out _));
        Assert.Equal(BearerSubprotocol.Result.Malformed, BearerSubprotocol.TryRead(new StringValues("marketstream.v1, bearer.not*base64"), out _));
        Assert.Equal(BearerSubprotocol.Result.Malformed, BearerSubprotocol.TryRead(new StringValues("bearer."), out _));
    }

    [Fact]
    public async Task A_browser_passes_its_token_as_a_subprotocol_which_the_gateway_never_selects()
    {
        await using var gateway = await GatewayHost.StartAsync(SecurityTests.AuthOn);
        var token = SecurityTests.Token("*");

        await using (var client = await ProtocolClient.ConnectAsync(gateway.Address, configure: o => o.AddSubProtocol(BearerSubprotocol.For(token))))
        {
            Assert.Equal("hello", (await client.ReceiveAsync())!.Value.Type());
            Assert.Equal("marketstream.v1", client.Socket.SubProtocol);
        }

        // A bad token is refused before the upgrade, exactly as in the header; so is one that is not base64url.
        var otherKey = SecurityTests.Token("*", signingKey: "another-signing-key-that-is-32-bytes-or-more");
        var bad = await Assert.ThrowsAsync<WebSocketException>(() =>
            ProtocolClient.ConnectAsync(gateway.Address, configure: o => o.AddSubProtocol(BearerSubprotocol.For(otherKey))));
        Assert.Contains("401", bad.Message, StringComparison.Ordinal);
        var malformed = await Assert.ThrowsAsync<WebSocketException>(() =>
            ProtocolClient.ConnectAsync(gateway.Address, configure: o => o.AddSubProtocol("bearer.%%%")));
        Assert.Contains("401", malformed.Message, StringComparison.Ordinal);

        // Offered alone, the token protocol would leave the handshake selecting nothing: a clear 400 instead.
        var alone = await Assert.ThrowsAsync<WebSocketException>(() =>
            ProtocolClient.ConnectAsync(gateway.Address, subProtocol: null, configure: o => o.AddSubProtocol(BearerSubprotocol.For(token))));
        Assert.Contains("400", alone.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Every log category at Trace, tokens sent every way a client can (query over WebSocket, SSE and HTTP; the
    /// subprotocol; the header, good and bad): the token's signature appears in no log entry (message, values,
    /// scopes, exception) and no activity, while the entries that would have held it are there, masked.
    /// </summary>
    [Fact]
    public async Task No_log_entry_or_activity_holds_a_token_whatever_the_level()
    {
        var logs = new CapturingLoggerProvider();
        var activities = new ConcurrentQueue<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || source.Name.StartsWith("MarketStream", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => activities.Enqueue(Describe(a)),
        };
        ActivitySource.AddActivityListener(listener);

        var token = SecurityTests.Token("*");
        var rejected = SecurityTests.Token("*", signingKey: "another-signing-key-that-is-32-bytes-or-more");
        (string, object)[] settings = [.. SecurityTests.AuthOn, ("Logging:LogLevel:Default", "Trace"), ("Logging:LogLevel:Microsoft", "Trace"), ("Logging:LogLevel:Microsoft.AspNetCore", "Trace"),
            ("Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics", "Trace"),
            // The tracing instrumentation's own masking of query values, turned off as an operator may: the
            // gateway's masks tokens regardless.
            ("OTEL_DOTNET_EXPERIMENTAL_ASPNETCORE_DISABLE_URL_QUERY_REDACTION", "true"),
            // Request traces are on only with an exporter; this one goes nowhere (the discard port).
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")];
        await using (var gateway = await GatewayHost.StartAsync(b => b.Logging.AddProvider(logs), settings))
        {
            await Eventually.Holds(() => Task.FromResult(gateway.State.Count == 3), "quotes for the three simulated symbols");
            await using (var ws = await ProtocolClient.ConnectAsync(gateway.Address, $"access_token={token}&throttleMs=0"))
            {
                await ws.ReceiveUntilAsync("hello");
                await ws.SendAsync("""{"op":"subscribe","id":1,"symbols":["AAPL"]}""");
                await ws.ReceiveUntilAsync("snapshot");
            }

            await using (var viaProtocol = await ProtocolClient.ConnectAsync(gateway.Address, configure: o => o.AddSubProtocol(BearerSubprotocol.For(token))))
            {
                await viaProtocol.ReceiveUntilAsync("hello");
            }

            await Assert.ThrowsAsync<WebSocketException>(() => ProtocolClient.ConnectAsync(gateway.Address, $"access_token={rejected}"));

            using (var sse = await gateway.Http.GetAsync(new Uri($"/sse?symbols=AAPL&access_token={token}", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead))
            {
                Assert.Equal(HttpStatusCode.OK, sse.StatusCode);
                using var body = new StreamReader(await sse.Content.ReadAsStreamAsync());
                Assert.NotNull(await body.ReadLineAsync());
            }

            Assert.Equal(HttpStatusCode.OK, (await gateway.Http.GetAsync(new Uri($"/api/quotes/AAPL?access_token={token}", UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await gateway.Http.GetAsync(new Uri($"/?access_token={token}", UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Http.GetAsync(new Uri($"/api/symbols?access_token={rejected}", UriKind.Relative))).StatusCode);
            using (var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/symbols", UriKind.Relative)))
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", rejected);
                Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Http.SendAsync(request)).StatusCode);
            }

            var metrics = await gateway.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            foreach (var secret in new[] { token, rejected }.Select(Signature))
            {
                Assert.DoesNotContain(secret, metrics, StringComparison.Ordinal);
            }
        }

        var entries = logs.Entries.ToArray();
        var traces = activities.ToArray();
        foreach (var secret in new[] { token, rejected }.Select(Signature))
        {
            Assert.DoesNotContain(entries, e => e.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(traces, t => t.Contains(secret, StringComparison.Ordinal));
        }

        // Not vacuous: the request lines were logged (at Information by ASP.NET Core's hosting), with the token masked.
        Assert.Contains(entries, e => e.Contains("/ws?access_token=***", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Contains("/sse?symbols=AAPL&access_token=***", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Contains("/api/quotes/AAPL?access_token=***", StringComparison.Ordinal));
        Assert.Contains(traces, t => t.Contains("/api/quotes/AAPL", StringComparison.Ordinal) && t.Contains("url.query=?access_token=***", StringComparison.Ordinal));
    }

    /// <summary>A JWT's signature: what makes it a credential, and what must never be written down.</summary>
    private static string Signature(string jwt) => jwt[(jwt.LastIndexOf('.') + 1)..];

    private static string Describe(Activity activity) =>
        string.Join(" | ", new[] { activity.OperationName, activity.DisplayName, activity.StatusDescription ?? string.Empty }
            .Concat(activity.TagObjects.Select(t => $"{t.Key}={t.Value}"))
            .Concat(activity.Events.SelectMany(e => e.Tags.Select(t => $"{e.Name}:{t.Key}={t.Value}")))
            .Concat(activity.Baggage.Select(b => $"{b.Key}={b.Value}")));

    /// <summary>Writes down everything a log provider is given: message, values, scopes, exception.</summary>
    private sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider? scopes;

        public ConcurrentQueue<string> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => scopes = scopeProvider;

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => owner.scopes?.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var parts = new List<string> { category, formatter(state, exception), exception?.ToString() ?? string.Empty };
                if (state is IEnumerable<KeyValuePair<string, object?>> values)
                {
                    parts.AddRange(values.Select(v => $"{v.Key}={v.Value}"));
                }

                owner.scopes?.ForEachScope(
                    (scope, list) =>
                    {
                        list.Add(scope?.ToString() ?? string.Empty);
                        if (scope is IEnumerable<KeyValuePair<string, object?>> pairs)
                        {
                            list.AddRange(pairs.Select(p => $"{p.Key}={p.Value}"));
                        }
                    },
                    parts);
                owner.Entries.Enqueue(string.Join(" | ", parts));
            }
        }
    }
}
