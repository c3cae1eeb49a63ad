using MarketStream.Contracts;

namespace MarketStream.Client;

/// <summary>The server answered a request with an <c>error</c> message (PROTOCOL.md section 2).</summary>
public class FeedRequestException : Exception
{
    /// <summary>Creates the exception for a server error.</summary>
    public FeedRequestException(string code, string message, IReadOnlyList<string>? symbols = null)
        : base(message)
    {
        Code = code;
        Symbols = symbols ?? [];
    }

    /// <summary>Creates the exception with no code (for serializers and tooling).</summary>
    public FeedRequestException()
        : this(ErrorCodes.BadRequest, "the server refused the request")
    {
    }

    /// <summary>Creates the exception with no code (for serializers and tooling).</summary>
    public FeedRequestException(string message)
        : this(ErrorCodes.BadRequest, message)
    {
    }

    /// <summary>Creates the exception with no code (for serializers and tooling).</summary>
    public FeedRequestException(string message, Exception innerException)
        : base(message, innerException)
    {
        Code = ErrorCodes.BadRequest;
        Symbols = [];
    }

    /// <summary>The protocol's error code: <c>bad_request</c>, <c>invalid_symbol</c>, <c>too_many_symbols</c>, <c>forbidden</c>, <c>rate_limited</c>.</summary>
    public string Code { get; }

    /// <summary>The symbols the error concerns, when the server named them.</summary>
    public IReadOnlyList<string> Symbols { get; }

    /// <summary>The exception type for a server error code: one of the derived types where there is one.</summary>
    internal static FeedRequestException For(string code, string message, IReadOnlyList<string>? symbols) => code switch
    {
        ErrorCodes.InvalidSymbol => new InvalidSymbolException(message, symbols ?? []),
        ErrorCodes.TooManySymbols => new TooManySymbolsException(message, symbols ?? []),
        ErrorCodes.Forbidden => new SymbolForbiddenException(message, symbols ?? []),
        _ => new FeedRequestException(code, message, symbols),
    };
}

/// <summary><c>invalid_symbol</c>: a symbol breaks the protocol's rules (also thrown before sending, for symbols the client can check itself).</summary>
public sealed class InvalidSymbolException(string message, IReadOnlyList<string> symbols)
    : FeedRequestException(ErrorCodes.InvalidSymbol, message, symbols);

/// <summary><c>too_many_symbols</c>: the subscription would exceed the gateway's per-connection limit; nothing in the request was subscribed.</summary>
public sealed class TooManySymbolsException(string message, IReadOnlyList<string> symbols)
    : FeedRequestException(ErrorCodes.TooManySymbols, message, symbols);

/// <summary><c>forbidden</c>: the caller is not entitled to the symbols (its token's <c>symbols</c> claim does not cover them).</summary>
public sealed class SymbolForbiddenException(string message, IReadOnlyList<string> symbols)
    : FeedRequestException(ErrorCodes.Forbidden, message, symbols);
