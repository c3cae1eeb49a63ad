namespace MarketStream.Contracts;

/// <summary>
/// The symbol rules of PROTOCOL.md section 1: 1 to 32 characters from <c>A-Z a-z 0-9 . _ : / -</c>,
/// the first a letter or digit, compared case-insensitively and normalised to upper case.
/// </summary>
public static class Symbols
{
    /// <summary>The longest symbol the protocol allows.</summary>
    public const int MaxLength = 32;

    /// <summary>Normalises a symbol given as UTF-8 bytes; false if it breaks the rules.</summary>
    public static bool TryNormalize(ReadOnlySpan<byte> utf8, out string symbol)
    {
        symbol = string.Empty;
        if (!IsValid(utf8))
        {
            return false;
        }

        Span<char> chars = stackalloc char[utf8.Length];
        symbol = new string(ToUpper(utf8, chars));
        return true;
    }

    /// <summary>Normalises a symbol given as a string; false if it breaks the rules.</summary>
    public static bool TryNormalize(string? text, out string symbol)
    {
        symbol = string.Empty;
        if (text is null || text.Length is 0 or > MaxLength)
        {
            return false;
        }

        var alreadyUpper = true;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c > 0x7F || !IsAllowed((byte)c, first: i == 0))
            {
                return false;
            }

            alreadyUpper &= c is not (>= 'a' and <= 'z');
        }

        // Avoid an allocation for the common case of an already normalised symbol.
        symbol = alreadyUpper ? text : text.ToUpperInvariant();
        return true;
    }

    /// <summary>True when the UTF-8 bytes form a valid symbol (in any case).</summary>
    public static bool IsValid(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length is 0 or > MaxLength)
        {
            return false;
        }

        for (var i = 0; i < utf8.Length; i++)
        {
            if (!IsAllowed(utf8[i], first: i == 0))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsAllowed(byte b, bool first) =>
        b is (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9')
        || (!first && b is (byte)'.' or (byte)'_' or (byte)':' or (byte)'/' or (byte)'-');

    /// <summary>
    /// Writes the upper-case form of already validated symbol bytes into <paramref name="destination"/>:
    /// every valid byte is ASCII, so one char per byte.
    /// </summary>
    public static ReadOnlySpan<char> ToUpper(ReadOnlySpan<byte> validUtf8, Span<char> destination)
    {
        for (var i = 0; i < validUtf8.Length; i++)
        {
            var b = validUtf8[i];
            destination[i] = (char)(b is >= (byte)'a' and <= (byte)'z' ? b - 32 : b);
        }

        return destination[..validUtf8.Length];
    }
}
