namespace MarketStream.Contracts;

/// <summary>What happens when a client receives less than the market produces (PROTOCOL.md section 2).</summary>
public enum DeliveryPolicy
{
    /// <summary>Only the latest quote per symbol waits; memory bounded by the number of symbols; never disconnects.</summary>
    Conflate,

    /// <summary>Every tick in order while the client keeps up; when the bounded queue is full the oldest queued quote goes.</summary>
    DropOldest,

    /// <summary>Every tick in order while the client keeps up; when the bounded queue is full the newest queued quote goes.</summary>
    DropNewest,

    /// <summary>Every tick in order; when the bounded queue is full the connection is closed with 4001.</summary>
    Disconnect,
}

public static class DeliveryPolicies
{
    public static string Name(this DeliveryPolicy policy) => policy switch
    {
        DeliveryPolicy.Conflate => "conflate",
        DeliveryPolicy.DropOldest => "drop-oldest",
        DeliveryPolicy.DropNewest => "drop-newest",
        DeliveryPolicy.Disconnect => "disconnect",
        _ => throw new ArgumentOutOfRangeException(nameof(policy)),
    };

    public static bool TryParse(string? name, out DeliveryPolicy policy)
    {
        switch (name)
        {
            case "conflate": policy = DeliveryPolicy.Conflate; return true;
            case "drop-oldest": policy = DeliveryPolicy.DropOldest; return true;
            case "drop-newest": policy = DeliveryPolicy.DropNewest; return true;
            case "disconnect": policy = DeliveryPolicy.Disconnect; return true;
            default: policy = default; return false;
        }
    }

    /// <summary>The accepted names, for error messages.</summary>
    public const string Names = "conflate, drop-oldest, drop-newest, disconnect";
}

/// <summary>Per-connection limits of the protocol itself (the server may narrow nothing here).</summary>
public static class ThrottleLimits
{
    public const int MinMs = 0;
    public const int MaxMs = 60_000;
}
