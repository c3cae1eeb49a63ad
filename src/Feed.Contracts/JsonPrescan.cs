namespace MarketStream.Contracts;

/// <summary>
/// A cheap pass over untrusted bytes before <see cref="System.Text.Json.Utf8JsonReader"/> sees them. For a
/// broken literal (<c>f</c>, <c>t</c> or <c>n</c> not starting <c>false</c>, <c>true</c>, <c>null</c>) the reader builds an
/// exception message quoting the rest of the buffer: a 16 KiB frame cost over half a megabyte. Outside strings
/// those letters can only start a literal, so checking them here answers "not JSON" without allocating.
/// </summary>
internal static class JsonPrescan
{
    public static bool HasMalformedLiteral(ReadOnlySpan<byte> utf8)
    {
        var inString = false;
        for (var i = 0; i < utf8.Length; i++)
        {
            var b = utf8[i];
            if (inString)
            {
                if (b == (byte)'\\')
                {
                    i++;
                }
                else if (b == (byte)'"')
                {
                    inString = false;
                }

                continue;
            }

            switch (b)
            {
                case (byte)'"':
                    inString = true;
                    break;
                case (byte)'t':
                    if (!utf8[i..].StartsWith("true"u8))
                    {
                        return true;
                    }

                    i += 3;
                    break;
                case (byte)'f':
                    if (!utf8[i..].StartsWith("false"u8))
                    {
                        return true;
                    }

                    i += 4;
                    break;
                case (byte)'n':
                    if (!utf8[i..].StartsWith("null"u8))
                    {
                        return true;
                    }

                    i += 3;
                    break;
            }
        }

        return false;
    }
}
