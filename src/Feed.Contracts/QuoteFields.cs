using System.Runtime.CompilerServices;

namespace MarketStream.Contracts;

/// <summary>What a quote field holds, which decides how it is read, checked and written.</summary>
public enum QuoteFieldKind
{
    /// <summary>A positive decimal, kept exactly as written (<c>189.10</c> stays <c>189.10</c>).</summary>
    Price,

    /// <summary>A non-negative integer.</summary>
    Size,

    /// <summary>A short string (at most <see cref="QuoteField.MaxLength"/> characters).</summary>
    Text,
}

/// <summary>One optional field of a tick and a quote (PROTOCOL.md sections 1 and 2), as <see cref="QuoteFields"/> defines it.</summary>
public sealed class QuoteField
{
    private readonly byte[] utf8Name;

    internal QuoteField(int index, int slot, string name, QuoteFieldKind kind, bool afterTs = false, int maxLength = 0)
    {
        Index = index;
        Slot = slot;
        Name = name;
        utf8Name = System.Text.Encoding.UTF8.GetBytes(name);
        Kind = kind;
        AfterTs = afterTs;
        MaxLength = maxLength;
    }

    /// <summary>Its place in <see cref="QuoteFields.All"/> and in a quote's values.</summary>
    public int Index { get; }

    /// <summary>Its place among the fields of its storage: numbers (prices and sizes) or texts.</summary>
    public int Slot { get; }

    /// <summary>Its JSON name.</summary>
    public string Name { get; }

    public ReadOnlySpan<byte> Utf8Name => utf8Name;

    public QuoteFieldKind Kind { get; }

    /// <summary>Whether the quote object writes it after <c>ts</c> (protocol v1's order: prices and sizes, <c>ts</c>, then the venue).</summary>
    public bool AfterTs { get; }

    /// <summary>For <see cref="QuoteFieldKind.Text"/>: the longest value accepted, in characters.</summary>
    public int MaxLength { get; }

    public override string ToString() => Name;
}

/// <summary>
/// The one definition of a quote's optional fields: the tick decoder and encoder, the merge, the quote writer,
/// the changed-fields writer and <see cref="QuoteReader"/> all walk this table. Adding a field is one entry here
/// (and <see cref="Count"/>), plus its tests; named accessors such as <see cref="Quote.Bid"/> are conveniences.
/// </summary>
/// <remarks>
/// Symbol, <c>seq</c> and <c>ts</c> are not in the table: every tick and quote has them, and they identify and
/// order a quote rather than describe the market. The order here is the order the quote object writes them in.
/// </remarks>
public static class QuoteFields
{
    /// <summary>How many fields <see cref="All"/> holds (constants, so a quote keeps its values inline).</summary>
    public const int Count = 7;

    /// <summary>How many of them are prices or sizes (stored as decimals).</summary>
    public const int NumberCount = 6;

    /// <summary>How many of them are texts.</summary>
    public const int TextCount = 1;

    public static readonly QuoteField Bid = new(0, 0, "bid", QuoteFieldKind.Price);

    public static readonly QuoteField Ask = new(1, 1, "ask", QuoteFieldKind.Price);

    public static readonly QuoteField BidSize = new(2, 2, "bidSize", QuoteFieldKind.Size);

    public static readonly QuoteField AskSize = new(3, 3, "askSize", QuoteFieldKind.Size);

    public static readonly QuoteField Last = new(4, 4, "last", QuoteFieldKind.Price);

    public static readonly QuoteField LastSize = new(5, 5, "lastSize", QuoteFieldKind.Size);

    public static readonly QuoteField Venue = new(6, 0, "venue", QuoteFieldKind.Text, afterTs: true, maxLength: 16);

    /// <summary>Every field, in wire order; <c>All[i].Index == i</c>.</summary>
    public static IReadOnlyList<QuoteField> All => Table;

    /// <summary><see cref="All"/> as an array: the hot paths walk it without an enumerator.</summary>
    internal static readonly QuoteField[] Table = Check([Bid, Ask, BidSize, AskSize, Last, LastSize, Venue]);

    /// <summary>The field named <paramref name="reader"/>'s current property name (escapes resolved), or null.</summary>
    public static QuoteField? Find(ref System.Text.Json.Utf8JsonReader reader)
    {
        foreach (var field in Table)
        {
            if (reader.ValueTextEquals(field.Utf8Name))
            {
                return field;
            }
        }

        return null;
    }

    private static QuoteField[] Check(QuoteField[] fields)
    {
        var numbers = fields.Where(f => f.Kind != QuoteFieldKind.Text).ToList();
        var texts = fields.Where(f => f.Kind == QuoteFieldKind.Text).ToList();
        if (fields.Length != Count || numbers.Count != NumberCount || texts.Count != TextCount || Count > 31
            || fields.Where((f, i) => f.Index != i).Any() || numbers.Where((f, i) => f.Slot != i).Any() || texts.Where((f, i) => f.Slot != i).Any())
        {
            throw new InvalidOperationException(
                $"QuoteFields: {fields.Length} fields listed ({numbers.Count} numbers, {texts.Count} texts) against the counts {Count} ({NumberCount}, {TextCount}); "
                + "each field's Index must be its place in the list, and its Slot its place among the fields of its storage");
        }

        return fields;
    }
}

/// <summary>One field's value in a tick or quote: absent, a number (price or size) or a text.</summary>
internal readonly struct FieldValue
{
    private readonly decimal number;
    private readonly string? text;
    private readonly bool present;

    private FieldValue(decimal number, string? text)
    {
        this.number = number;
        this.text = text;
        present = true;
    }

    public bool HasValue => present;

    /// <summary>A price or size (a size is a whole number, scale 0).</summary>
    public decimal Number => number;

    public string? Text => text;

    public static FieldValue Of(decimal? value) => value is { } v ? new FieldValue(v, null) : default;

    public static FieldValue Of(long? value) => value is { } v ? new FieldValue(v, null) : default;

    /// <summary>A price or size already held as a decimal.</summary>
    public static FieldValue OfNumber(decimal value) => new(value, null);

    public static FieldValue Of(string? value) => value is not null ? new FieldValue(0, value) : default;

    public decimal? AsDecimal() => present && text is null ? number : null;

    public long? AsInt64() => present && text is null ? (long)number : null;

    public string? AsText() => text;

    /// <summary>
    /// The same value written the same way: <c>189.1</c> and <c>189.10</c> are equal numbers but not the same
    /// field on the wire, and a client must end up holding what the server holds to the last digit.
    /// </summary>
    public bool SameAs(in FieldValue other) =>
        present == other.present && number == other.number && number.Scale == other.number.Scale && string.Equals(text, other.text, StringComparison.Ordinal);
}

/// <summary>
/// A tick's or quote's field values, inline and compact (prices and sizes as decimals, texts as strings, a bit per
/// field for presence), read and written by <see cref="QuoteField.Index"/>.
/// </summary>
internal struct FieldValues
{
    private Numbers numbers;
    private Texts texts;
    private int present;

    public FieldValue this[int index]
    {
        readonly get
        {
            if ((present & (1 << index)) == 0)
            {
                return default;
            }

            var field = QuoteFields.Table[index];
            return field.Kind == QuoteFieldKind.Text ? FieldValue.Of(texts[field.Slot]) : FieldValue.OfNumber(numbers[field.Slot]);
        }

        set
        {
            var field = QuoteFields.Table[index];
            if (!value.HasValue)
            {
                present &= ~(1 << index);
            }
            else
            {
                present |= 1 << index;
            }

            if (field.Kind == QuoteFieldKind.Text)
            {
                texts[field.Slot] = value.Text;
            }
            else
            {
                numbers[field.Slot] = value.Number;
            }
        }
    }

    public readonly bool Has(int index) => (present & (1 << index)) != 0;

    /// <summary>These values, with every field <paramref name="newer"/> holds taking the place of this one's.</summary>
    public readonly FieldValues Overlay(in FieldValues newer)
    {
        var merged = this;
        for (var i = 0; i < QuoteFields.Count; i++)
        {
            if (newer.Has(i))
            {
                merged[i] = newer[i];
            }
        }

        return merged;
    }

    [InlineArray(QuoteFields.NumberCount)]
    private struct Numbers
    {
        private decimal element;
    }

    [InlineArray(QuoteFields.TextCount)]
    private struct Texts
    {
        private string? element;
    }
}
