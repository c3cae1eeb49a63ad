using System.Text.Json;

namespace MarketStream.Contracts;

/// <summary>
/// Reads one quote object of a <c>snapshot</c> or <c>updates</c> message (PROTOCOL.md section 2) as
/// <see cref="QuoteFields"/> defines it, in any property order: prices exactly as written, unknown properties
/// skipped (servers may add them). A quote of an <c>updates</c> message under the <c>delta</c> extension carries
/// only the fields that changed; <see cref="Quote.Apply"/> puts it on the state the client holds.
/// </summary>
public static class QuoteReader
{
    /// <summary>Reads the object at the reader's <see cref="JsonTokenType.StartObject"/>, leaving the reader on its end.</summary>
    /// <exception cref="JsonException">Not a quote object: a required property missing or a value of the wrong type.</exception>
    public static Quote Read(ref Utf8JsonReader reader, out int conflated, out int dropped)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        string? symbol = null;
        long? seq = null, ts = null;
        var values = default(FieldValues);
        conflated = dropped = 0;
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("symbol"u8))
            {
                Next(ref reader);
                Expect(ref reader, JsonTokenType.String);
                symbol = reader.GetString();
            }
            else if (reader.ValueTextEquals("seq"u8))
            {
                seq = ReadNumber(ref reader).GetInt64();
            }
            else if (reader.ValueTextEquals("ts"u8))
            {
                ts = ReadNumber(ref reader).GetInt64();
            }
            else if (reader.ValueTextEquals("conflated"u8))
            {
                conflated = ReadNumber(ref reader).GetInt32();
            }
            else if (reader.ValueTextEquals("dropped"u8))
            {
                dropped = ReadNumber(ref reader).GetInt32();
            }
            else if (QuoteFields.Find(ref reader) is { } field)
            {
                Next(ref reader);
                values[field.Index] = field.Kind switch
                {
                    QuoteFieldKind.Price => FieldValue.Of(Number(ref reader).GetDecimal()),
                    QuoteFieldKind.Size => FieldValue.Of(Number(ref reader).GetInt64()),
                    _ => FieldValue.Of(Text(ref reader)),
                };
            }
            else
            {
                Next(ref reader);
                reader.Skip();
            }
        }

        if (symbol is null || seq is null || ts is null)
        {
            throw new JsonException("a quote lacks symbol, seq or ts");
        }

        return new Quote { Symbol = symbol, Seq = seq.Value, Ts = ts.Value, Values = values };
    }

    private static ref Utf8JsonReader ReadNumber(ref Utf8JsonReader reader)
    {
        Next(ref reader);
        return ref Number(ref reader);
    }

    private static ref Utf8JsonReader Number(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.Number);
        return ref reader;
    }

    private static string Text(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.String);
        return reader.GetString()!;
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw new JsonException("the message ends early");

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (reader.TokenType != type)
        {
            throw new JsonException($"expected {type}, found {reader.TokenType}");
        }
    }
}
