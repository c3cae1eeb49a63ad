namespace MarketStream.Contracts;

/// <summary>
/// Why a tick record was skipped. A closed set: each value is also a metric tag, so adding one is a
/// deliberate change. The names in <see cref="TickRejectReasons.Name"/> are stable.
/// </summary>
public enum TickRejectReason
{
    None = 0,

    /// <summary>The value is not well-formed UTF-8 JSON (or is empty).</summary>
    NotJson,

    /// <summary>The value is JSON but not an object.</summary>
    NotObject,

    /// <summary>No <c>symbol</c> field.</summary>
    MissingSymbol,

    /// <summary><c>symbol</c> is not a string, or breaks the symbol rules.</summary>
    InvalidSymbol,

    /// <summary>No <c>ts</c> field.</summary>
    MissingTs,

    /// <summary><c>ts</c> is not a positive integer.</summary>
    InvalidTs,

    /// <summary>None of <c>bid</c>, <c>ask</c>, <c>last</c>.</summary>
    NoPrice,

    /// <summary>A price that is not a number, not greater than zero, or out of decimal range.</summary>
    InvalidPrice,

    /// <summary>A size that is not an integer, or is negative.</summary>
    InvalidSize,

    /// <summary><c>venue</c> is not a string, or longer than 16 characters.</summary>
    InvalidVenue,

    /// <summary>The value is larger than <see cref="TickDecoder.MaxRecordBytes"/>: no tick is that large.</summary>
    TooLarge,

    /// <summary>
    /// The tick is well formed but its Kafka position is not after the symbol's current one: the symbol
    /// was written to more than one partition, against the keying rule. Merging it would break
    /// <c>seq</c> order, so it is skipped.
    /// </summary>
    OutOfOrder,
}

/// <summary>Stable lower-snake-case names for <see cref="TickRejectReason"/> (logs, metric tags).</summary>
public static class TickRejectReasons
{
    private static readonly string[] Names =
    [
        "none", "not_json", "not_object", "missing_symbol", "invalid_symbol", "missing_ts", "invalid_ts",
        "no_price", "invalid_price", "invalid_size", "invalid_venue", "too_large", "out_of_order",
    ];

    /// <summary>Every reason a record can be rejected for (excludes <see cref="TickRejectReason.None"/>).</summary>
    public static IReadOnlyList<TickRejectReason> All { get; } =
        Enum.GetValues<TickRejectReason>().Where(r => r != TickRejectReason.None).ToArray();

    public static string Name(this TickRejectReason reason) => Names[(int)reason];
}
