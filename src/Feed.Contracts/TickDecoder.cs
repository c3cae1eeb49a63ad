using System.Text.Json;

namespace MarketStream.Contracts;

/// <summary>
/// Decodes one Kafka record value into a <see cref="Tick"/>, or says why it cannot (PROTOCOL.md section 1).
/// Reads with <see cref="Utf8JsonReader"/>, no reflection; prices are read straight into <see cref="decimal"/>
/// so <c>189.12</c> stays <c>189.12</c>. Never throws for any input.
/// </summary>
/// <remarks>
/// An instance interns symbol and venue strings, so the steady state allocates only the tick itself.
/// It is meant for one reader (the ingest loop) and is not thread-safe.
/// </remarks>
public sealed class TickDecoder
{
    /// <summary>The longest venue the protocol allows, in characters.</summary>
    public static int MaxVenueLength => QuoteFields.Venue.MaxLength;

    /// <summary>
    /// The largest record value decoded, in bytes. A tick is a few hundred bytes; anything near this is not a
    /// tick, and decoding it would only cost the ingest time and memory.
    /// </summary>
    public const int MaxRecordBytes = 64 * 1024;

    // Bounded so a producer that invents a new symbol per record cannot grow the table without limit;
    // past it, strings are simply allocated.
    private const int MaxInterned = 100_000;

    private readonly Dictionary<string, string> interned = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> internLookup;

    public TickDecoder() => internLookup = interned.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Decodes <paramref name="utf8"/>; on success <paramref name="tick"/> is set and the result is <see cref="TickRejectReason.None"/>.</summary>
    public TickRejectReason Decode(ReadOnlySpan<byte> utf8, out Tick? tick)
    {
        tick = null;
        try
        {
            return DecodeCore(utf8, out tick);
        }
        catch (JsonException)
        {
            return TickRejectReason.NotJson;
        }
        catch (InvalidOperationException)
        {
            // Raised by the reader for malformed UTF-8 inside strings on some paths.
            return TickRejectReason.NotJson;
        }
    }

    private TickRejectReason DecodeCore(ReadOnlySpan<byte> utf8, out Tick? tick)
    {
        tick = null;
        if (utf8.Length > MaxRecordBytes)
        {
            return TickRejectReason.TooLarge;
        }

        if (JsonPrescan.HasMalformedLiteral(utf8))
        {
            return TickRejectReason.NotJson;
        }

        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        if (!reader.Read())
        {
            return TickRejectReason.NotJson;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            // Read the rest so that malformed input is reported as such rather than as "not an object".
            reader.Skip();
            return reader.Read() ? TickRejectReason.NotJson : TickRejectReason.NotObject;
        }

        string? symbol = null;
        bool symbolSeen = false, symbolBad = false, tsSeen = false, tsBad = false;
        bool priceBad = false, priceSeen = false, sizeBad = false;

        // A text field's last occurrence decides (a bad venue followed by a good one is a good venue), so bad ones
        // are kept per field.
        var textBad = 0;
        long ts = 0;
        var values = default(FieldValues);

        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                break;
            }

            // The reader guarantees a property name here. ValueTextEquals unescapes, so "\u0062id" is read as
            // "bid", as JSON means it.
            if (reader.ValueTextEquals("symbol"u8))
            {
                reader.Read();
                symbolSeen = true;
                symbol = ReadSymbol(ref reader);
                symbolBad = symbol is null;
            }
            else if (reader.ValueTextEquals("ts"u8))
            {
                reader.Read();
                tsSeen = true;
                tsBad = !(reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out ts) && ts > 0);

                // An object or array here is a bad ts, not bad JSON: step over it whole.
                reader.Skip();
            }
            else if (QuoteFields.Find(ref reader) is { } field)
            {
                reader.Read();
                var value = ReadValue(ref reader, field);
                values[field.Index] = value;
                switch (field.Kind)
                {
                    case QuoteFieldKind.Price:
                        priceBad |= !value.HasValue;
                        priceSeen |= value.HasValue;
                        break;
                    case QuoteFieldKind.Size:
                        sizeBad |= !value.HasValue;
                        break;
                    default:
                        textBad = value.HasValue ? textBad & ~(1 << field.Index) : textBad | (1 << field.Index);
                        break;
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        // Anything after the object (a second value, stray bytes) makes the record malformed: the reader
        // throws on it, which Decode reports as not JSON.
        reader.Read();

        if (!symbolSeen)
        {
            return TickRejectReason.MissingSymbol;
        }

        if (symbolBad)
        {
            return TickRejectReason.InvalidSymbol;
        }

        if (!tsSeen)
        {
            return TickRejectReason.MissingTs;
        }

        if (tsBad)
        {
            return TickRejectReason.InvalidTs;
        }

        if (priceBad)
        {
            return TickRejectReason.InvalidPrice;
        }

        if (!priceSeen)
        {
            return TickRejectReason.NoPrice;
        }

        if (sizeBad)
        {
            return TickRejectReason.InvalidSize;
        }

        if (textBad != 0)
        {
            // The venue is the protocol's one text field.
            return TickRejectReason.InvalidVenue;
        }

        tick = new Tick { Symbol = symbol!, Ts = ts, Values = values };
        return TickRejectReason.None;
    }

    /// <summary>The field's value, or an absent one when it is not valid for the field's kind.</summary>
    private FieldValue ReadValue(ref Utf8JsonReader reader, QuoteField field) => field.Kind switch
    {
        QuoteFieldKind.Price => TryReadPrice(ref reader, out var price) ? FieldValue.Of(price) : default,
        QuoteFieldKind.Size => TryReadSize(ref reader, out var size) ? FieldValue.Of(size) : default,
        _ => FieldValue.Of(ReadText(ref reader, field.MaxLength)),
    };

    private string? ReadSymbol(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return null;
        }

        if (reader.ValueIsEscaped || reader.HasValueSequence)
        {
            // Rare: fall back to the allocating path, which applies the same rules.
            return Symbols.TryNormalize(reader.GetString(), out var s) ? Intern(s) : null;
        }

        var raw = reader.ValueSpan;
        if (!Symbols.IsValid(raw))
        {
            return null;
        }

        Span<char> chars = stackalloc char[raw.Length];
        return Intern(Symbols.ToUpper(raw, chars));
    }

    private string? ReadText(ref Utf8JsonReader reader, int maxLength)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return null;
        }

        var text = reader.GetString()!;
        return text.Length <= maxLength ? Intern(text) : null;
    }

    private static bool TryReadPrice(ref Utf8JsonReader reader, out decimal? price)
    {
        price = null;
        if (reader.TokenType != JsonTokenType.Number)
        {
            reader.Skip();
            return false;
        }

        // TryGetDecimal fails for numbers outside decimal's range, which covers "not finite" for JSON.
        if (!reader.TryGetDecimal(out var value) || value <= 0m)
        {
            return false;
        }

        price = value;
        return true;
    }

    private static bool TryReadSize(ref Utf8JsonReader reader, out long? size)
    {
        size = null;
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var value) || value < 0)
        {
            reader.Skip();
            return false;
        }

        size = value;
        return true;
    }

    private string Intern(ReadOnlySpan<char> value)
    {
        if (internLookup.TryGetValue(value, out var existing))
        {
            return existing;
        }

        var s = new string(value);
        if (interned.Count < MaxInterned)
        {
            interned[s] = s;
        }

        return s;
    }
}
