using MarketStream.Contracts;

namespace MarketStream.Gateway.Telemetry;

/// <summary>
/// Every tag the gateway's instruments carry, from closed sets only. A tag value a client could choose (its own
/// close code, a message type it invented) would make a new time series per value, in the gateway and in
/// Prometheus, without bound; so values outside a set are folded into one. Instruments build their tags here and
/// nowhere else; the pairs are made once, so recording one allocates nothing.
/// </summary>
internal static class MetricTags
{
    /// <summary>The value of <c>code</c> for a close code the client chose and the gateway does not name.</summary>
    public const string ClientCode = "client";

    /// <summary>The value of <c>type</c> for a message type outside the protocol's.</summary>
    public const string OtherType = "other";

    private static readonly KeyValuePair<string, object?> ClientCodeTag = new("code", ClientCode);

    // The codes the protocol gives a meaning (PROTOCOL.md section 7); a client's 1000 or 1001 is one of them too.
    private static readonly Dictionary<int, KeyValuePair<string, object?>> CloseCodeTags = new[]
    {
        CloseCodes.Normal, CloseCodes.GoingAway, CloseCodes.ProtocolError, CloseCodes.Abnormal, CloseCodes.InvalidPayloadData, CloseCodes.PolicyViolation, CloseCodes.MessageTooBig,
        CloseCodes.InternalError, CloseCodes.TryAgainLater, CloseCodes.SlowConsumer, CloseCodes.TooManyRequests,
    }.ToDictionary(c => c, c => new KeyValuePair<string, object?>("code", c.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private static readonly Dictionary<string, KeyValuePair<string, object?>> TypeTags = new[]
    {
        "hello", "subscribed", "unsubscribed", "snapshot", "updates", "heartbeat", "error", "configured", "pong", "status",
    }.ToDictionary(t => t, t => new KeyValuePair<string, object?>("type", t), StringComparer.Ordinal);

    private static readonly KeyValuePair<string, object?> OtherTypeTag = new("type", OtherType);

    private static readonly KeyValuePair<string, object?>[] PolicyTags =
        Enum.GetValues<DeliveryPolicy>().Select(p => new KeyValuePair<string, object?>("policy", p.Name())).ToArray();

    /// <summary>The close codes <c>code</c> can take besides <see cref="ClientCode"/>.</summary>
    public static IReadOnlyCollection<int> NamedCloseCodes => CloseCodeTags.Keys;

    public static KeyValuePair<string, object?> CloseCode(int code) => CloseCodeTags.GetValueOrDefault(code, ClientCodeTag);

    public static KeyValuePair<string, object?> MessageType(string type) => TypeTags.GetValueOrDefault(type, OtherTypeTag);

    public static KeyValuePair<string, object?> Policy(DeliveryPolicy policy) =>
        (uint)policy < (uint)PolicyTags.Length ? PolicyTags[(int)policy] : throw new ArgumentOutOfRangeException(nameof(policy));
}
