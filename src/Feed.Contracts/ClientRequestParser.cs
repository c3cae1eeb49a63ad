using System.Text.Json;

namespace MarketStream.Contracts;

/// <summary>
/// Parses one client text frame into a <see cref="ClientRequest"/>, or a <see cref="ClientRequestError"/> that
/// says exactly what is wrong. Never throws. Unknown fields are ignored, so clients may send extensions.
/// </summary>
public static class ClientRequestParser
{
    /// <summary>Most symbols one subscribe or unsubscribe may name; beyond it the request is refused, whatever the server's per-connection limit.</summary>
    public const int MaxSymbolsPerRequest = 1_000;

    public static ClientRequest? Parse(ReadOnlySpan<byte> utf8, out ClientRequestError? error)
    {
        try
        {
            return ParseCore(utf8, out error);
        }
        catch (JsonException)
        {
            error = new ClientRequestError(default, "the frame is not valid JSON");
            return null;
        }
        catch (InvalidOperationException)
        {
            error = new ClientRequestError(default, "the frame is not valid JSON");
            return null;
        }
    }

    private static ClientRequest? ParseCore(ReadOnlySpan<byte> utf8, out ClientRequestError? error)
    {
        if (JsonPrescan.HasMalformedLiteral(utf8))
        {
            error = new ClientRequestError(default, "the frame is not valid JSON");
            return null;
        }

        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 16 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            if (reader.TokenType != JsonTokenType.None)
            {
                // Make sure the rest is JSON, so the message names the real fault.
                reader.Skip();
                while (reader.Read())
                {
                }
            }

            error = new ClientRequestError(default, "a request must be a JSON object");
            return null;
        }

        string? op = null, fault = null;
        var id = default(RequestId);
        List<string>? symbols = null;
        var symbolsSeen = false;
        int? throttleMs = null;
        string? policyName = null;
        var policySeen = false;
        bool? delta = null;

        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (reader.ValueTextEquals("op"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    op = reader.GetString();
                }
                else
                {
                    fault ??= "'op' must be a string";
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var n))
                {
                    id = new RequestId(n, null);
                }
                else if (reader.TokenType == JsonTokenType.String)
                {
                    var text = reader.GetString()!;
                    if (text.Length > 64)
                    {
                        fault ??= "'id' must be at most 64 characters";
                    }
                    else
                    {
                        id = new RequestId(null, text);
                    }
                }
                else
                {
                    fault ??= "'id' must be an integer or a string";
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("symbols"u8))
            {
                reader.Read();
                symbolsSeen = true;
                symbols = ReadSymbols(ref reader, ref fault);
            }
            else if (reader.ValueTextEquals("throttleMs"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var t) && t is >= ThrottleLimits.MinMs and <= ThrottleLimits.MaxMs)
                {
                    throttleMs = t;
                }
                else
                {
                    fault ??= $"'throttleMs' must be an integer from {ThrottleLimits.MinMs} to {ThrottleLimits.MaxMs}";
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("delta"u8))
            {
                reader.Read();
                if (reader.TokenType is JsonTokenType.True or JsonTokenType.False)
                {
                    delta = reader.GetBoolean();
                }
                else
                {
                    fault ??= "'delta' must be true or false";
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("policy"u8))
            {
                reader.Read();
                policySeen = true;
                if (reader.TokenType == JsonTokenType.String)
                {
                    policyName = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        // Trailing bytes after the object make the frame malformed: the reader throws on them, which
        // Parse reports as "not valid JSON".
        reader.Read();

        if (fault is not null)
        {
            error = new ClientRequestError(id, fault);
            return null;
        }

        var (request, message) = op switch
        {
            null => (null, "'op' is required"),
            "subscribe" or "unsubscribe" when !symbolsSeen => (null, "'symbols' is required: an array of symbol strings"),
            "subscribe" => (new ClientRequest(ClientOp.Subscribe, id) { Symbols = symbols! }, null),
            "unsubscribe" => (new ClientRequest(ClientOp.Unsubscribe, id) { Symbols = symbols! }, null),
            "configure" when policySeen && !DeliveryPolicies.TryParse(policyName, out _) =>
                (null, $"'policy' must be one of: {DeliveryPolicies.Names}"),
            "configure" => (new ClientRequest(ClientOp.Configure, id)
            {
                ThrottleMs = throttleMs,
                Policy = policySeen && DeliveryPolicies.TryParse(policyName, out var p) ? p : null,
                Delta = delta,
            }, null),
            "ping" => (new ClientRequest(ClientOp.Ping, id), null),
            _ => ((ClientRequest?)null, (string?)$"unknown op '{Truncate(op)}'; expected subscribe, unsubscribe, configure or ping"),
        };

        error = message is null ? null : new ClientRequestError(id, message);
        return request;
    }

    private static List<string>? ReadSymbols(ref Utf8JsonReader reader, ref string? fault)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            fault ??= "'symbols' must be an array of strings";
            reader.Skip();
            return null;
        }

        var list = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                fault ??= "'symbols' must be an array of strings";
                reader.Skip();
                continue;
            }

            if (list.Count == MaxSymbolsPerRequest)
            {
                fault ??= $"a request may name at most {MaxSymbolsPerRequest} symbols";
                continue;
            }

            list.Add(reader.GetString()!);
        }

        return list;
    }

    private static string Truncate(string value) => value.Length <= 32 ? value : value[..32] + "…";
}
