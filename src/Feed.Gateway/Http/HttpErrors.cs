namespace MarketStream.Gateway.Http;

/// <summary>
/// The one shape of every HTTP refusal the gateway gives, before an upgrade or from the API:
/// <c>{"code":…,"message":…}</c>, plus <c>symbols</c> where the refusal names some.
/// </summary>
internal static class HttpErrors
{
    public static IResult Result(int status, string code, string message, IReadOnlyCollection<string>? symbols = null) =>
        Results.Json(symbols is null ? new { code, message } : (object)new { code, message, symbols }, statusCode: status);

    public static Task WriteAsync(HttpContext context, int status, string code, string message, IReadOnlyCollection<string>? symbols = null) =>
        Result(status, code, message, symbols).ExecuteAsync(context);
}
