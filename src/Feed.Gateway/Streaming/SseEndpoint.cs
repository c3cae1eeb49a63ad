using System.Buffers;
using System.Text;
using System.Text.Json;
using MarketStream.Contracts;
using MarketStream.Gateway.Http;
using MarketStream.Gateway.Security;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace MarketStream.Gateway.Streaming;

/// <summary>
/// <c>GET /sse?symbols=AAPL,MSFT&amp;throttleMs=250</c> (PROTOCOL.md section 3), for networks that block
/// WebSockets. The same <see cref="Session"/> as <c>/ws</c> does the work (one implementation of sessions,
/// two transports); the symbols of the query become the session's one subscribe request, and the policy is
/// always <c>conflate</c>. Events are named after the message type (<c>snapshot</c>, <c>updates</c>,
/// <c>heartbeat</c>; also <c>hello</c>, <c>subscribed</c> and <c>error</c>, which a v1 client may ignore).
/// </summary>
internal sealed class SseEndpoint(
    IOptions<AuthOptions> auth,
    SessionHost host,
    SessionRegistry registry,
    MarketStream.Ingest.IngestStatus ingest,
    IOptions<GatewayOptions> options)
{
    private readonly GatewayOptions options = options.Value;

    public async Task HandleAsync(HttpContext context)
    {
        if (await Admission.RefusedAsync(context, registry, ingest).ConfigureAwait(false))
        {
            return;
        }

        var query = ConnectSettings.Query(context);
        if (!ConnectSettings.TryRead(query, options, out var throttleMs, out var policy, out var delta, out var problem))
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.BadRequest, problem!).ConfigureAwait(false);
            return;
        }

        if (policy != DeliveryPolicy.Conflate)
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.BadRequest, "SSE always uses policy conflate").ConfigureAwait(false);
            return;
        }

        var symbols = ((string?)query["symbols"] ?? string.Empty)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (symbols.Length == 0)
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.BadRequest, "symbols is required: /sse?symbols=AAPL,MSFT").ConfigureAwait(false);
            return;
        }

        var invalid = symbols.Where(s => !Symbols.TryNormalize(s, out _)).ToList();
        if (invalid.Count > 0)
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.InvalidSymbol, $"not valid symbols: {string.Join(", ", invalid)}").ConfigureAwait(false);
            return;
        }

        if (symbols.Length > options.MaxSymbolsPerConnection)
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.TooManySymbols, $"at most {options.MaxSymbolsPerConnection} symbols per connection").ConfigureAwait(false);
            return;
        }

        var identity = ConnectionIdentity.Of(context, auth.Value.Enabled);
        var forbidden = identity.Entitlements.Forbidden(symbols);
        if (forbidden.Count > 0)
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status403Forbidden, ErrorCodes.Forbidden,
                $"not entitled to {string.Join(", ", forbidden)}", forbidden).ConfigureAwait(false);
            return;
        }

        switch (registry.TryReserve(identity))
        {
            case Reservation.GatewayFull:
                context.Response.Headers.RetryAfter = "5";
                await HttpErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "unavailable", "connection limit reached; try again later").ConfigureAwait(false);
                return;
            case Reservation.AddressLimit or Reservation.SubjectLimit:
                await HttpErrors.WriteAsync(context, StatusCodes.Status429TooManyRequests, "too_many_connections", "too many connections").ConfigureAwait(false);
                return;
        }

        try
        {
            await StreamAsync(context, symbols, throttleMs, identity).ConfigureAwait(false);
        }
        finally
        {
            registry.Release(identity);
        }
    }

    private async Task StreamAsync(HttpContext context, string[] symbols, int throttleMs, ConnectionIdentity identity)
    {
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";

        // EventSource reconnects by itself; ask it to wait a second rather than its default of a few.
        await context.Response.BodyWriter.WriteAsync("retry: 1000\n\n"u8.ToArray(), context.RequestAborted).ConfigureAwait(false);

        await host.RunAsync(new SseTransport(context), throttleMs, DeliveryPolicy.Conflate, identity, async session =>
        {
            session.HandleFrame(SubscribeRequest(symbols));

            // The stream ends when the client goes away or the session closes (drain, fault).
            var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (context.RequestAborted.Register(() => aborted.TrySetResult()))
            {
                if (await Task.WhenAny(aborted.Task, session.Completion).ConfigureAwait(false) == aborted.Task)
                {
                    session.BeginClose(CloseCodes.Abnormal, "client went away");
                }
            }
        }).ConfigureAwait(false);
    }

    private static byte[] SubscribeRequest(string[] symbols)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("op"u8, "subscribe"u8);
            writer.WriteStartArray("symbols"u8);
            foreach (var symbol in symbols)
            {
                writer.WriteStringValue(symbol);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A session's messages as server-sent events: <c>event: type</c>, <c>data: json</c>.</summary>
    private sealed class SseTransport(HttpContext context) : ISessionTransport
    {
        public async ValueTask SendAsync(ReadOnlyMemory<byte> message, string type, CancellationToken cancellationToken)
        {
            var writer = context.Response.BodyWriter;
            writer.Write("event: "u8);
            writer.Write(Encoding.ASCII.GetBytes(type));
            writer.Write("\ndata: "u8);

            // One JSON object on one line: Utf8JsonWriter without indentation writes no newlines.
            writer.Write(message.Span);
            writer.Write("\n\n"u8);
            var flush = await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (flush.IsCanceled || flush.IsCompleted)
            {
                throw new OperationCanceledException("the SSE client went away");
            }
        }

        public ValueTask CloseAsync(int closeCode, string reason, CancellationToken cancellationToken) =>
            context.Response.BodyWriter.CompleteAsync();

        public void Abort() => context.Abort();
    }
}
