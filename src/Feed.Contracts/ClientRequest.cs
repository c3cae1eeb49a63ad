using System.Text.Json;

namespace MarketStream.Contracts;

/// <summary>The operations a client may send (PROTOCOL.md section 2, client to server).</summary>
public enum ClientOp
{
    Subscribe,
    Unsubscribe,
    Configure,
    Ping,
}

/// <summary>
/// A request's optional <c>id</c>, echoed in its reply exactly as it came: a JSON integer or a string.
/// </summary>
public readonly record struct RequestId(long? Number, string? Text)
{
    public bool IsPresent => Number is not null || Text is not null;

    public void WriteTo(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (Number is { } n)
        {
            writer.WriteNumber("id"u8, n);
        }
        else if (Text is { } t)
        {
            writer.WriteString("id"u8, t);
        }
    }
}

/// <summary>A well-formed client request. Symbols are as sent; their validation belongs to the session.</summary>
public sealed record ClientRequest(ClientOp Op, RequestId Id)
{
    /// <summary>For subscribe and unsubscribe: the symbols as the client wrote them.</summary>
    public IReadOnlyList<string> Symbols { get; init; } = [];

    /// <summary>For configure: the new throttle, if given.</summary>
    public int? ThrottleMs { get; init; }

    /// <summary>For configure: the new policy, if given.</summary>
    public DeliveryPolicy? Policy { get; init; }

    /// <summary>For configure: turns the <c>delta</c> extension on or off, if given.</summary>
    public bool? Delta { get; init; }
}

/// <summary>Why a client frame is not a request: always answered with <c>bad_request</c>.</summary>
/// <param name="Id">The request's id when it could be read, so the error can echo it.</param>
/// <param name="Message">A message for the client developer.</param>
public sealed record ClientRequestError(RequestId Id, string Message);
