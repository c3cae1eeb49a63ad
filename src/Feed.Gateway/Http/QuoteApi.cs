using System.Text.Json;
using MarketStream.Contracts;
using MarketStream.Gateway.Market;
using MarketStream.Gateway.Security;
using Microsoft.Extensions.Options;

namespace MarketStream.Gateway.Http;

/// <summary>The read-only HTTP API of PROTOCOL.md section 4: current quotes and known symbols.</summary>
public static class QuoteApi
{
    public static IEndpointRouteBuilder MapQuoteApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api").RequireStreamAuthorization(endpoints.ServiceProvider);
        api.MapGet("/symbols", (MarketState state, HttpContext context, IOptions<AuthOptions> auth) =>
        {
            // A client sees only the symbols it is entitled to, here as everywhere.
            var entitlements = ConnectionIdentity.Of(context, auth.Value.Enabled).Entitlements;
            return Results.Ok(state.Symbols().Where(entitlements.Allows));
        });
        // A catch-all, because symbols may hold '/' (EUR/USD): both /api/quotes/EUR/USD and EUR%2FUSD work.
        api.MapGet("/quotes/{**symbol}", (string symbol, MarketState state, HttpContext context, IOptions<AuthOptions> auth) =>
        {
            symbol = Uri.UnescapeDataString(symbol);
            if (!Symbols.TryNormalize(symbol, out var normalized))
            {
                return HttpErrors.Result(StatusCodes.Status400BadRequest, "invalid_symbol", $"'{symbol}' is not a valid symbol");
            }

            if (!ConnectionIdentity.Of(context, auth.Value.Enabled).Entitlements.Allows(normalized))
            {
                return HttpErrors.Result(StatusCodes.Status403Forbidden, ErrorCodes.Forbidden, $"not entitled to '{normalized}'");
            }

            return state.TryGet(normalized, out var quote)
                ? new QuoteResult(quote)
                : HttpErrors.Result(StatusCodes.Status404NotFound, "not_found", $"no quote for '{normalized}'");
        });
        return endpoints;
    }

    /// <summary>
    /// Writes the quote with the protocol's own writer rather than the reflection serializer, so the HTTP
    /// API and the WebSocket frames carry the same field names and the same exact prices.
    /// </summary>
    private sealed class QuoteResult(Quote quote) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.ContentType = "application/json; charset=utf-8";
            using (var writer = new Utf8JsonWriter(httpContext.Response.BodyWriter, ServerMessages.WriterOptions))
            {
                QuoteWriter.Write(writer, quote);
            }

            await httpContext.Response.BodyWriter.FlushAsync(httpContext.RequestAborted).ConfigureAwait(false);
        }
    }
}
