using System.Security.Cryptography;
using System.Text;

namespace MarketStream.Ingest;

/// <summary>
/// Which stream a <c>seq</c> belongs to. <c>seq</c> comes from Kafka offsets, which restart at zero on another
/// cluster (a restarted embedded broker, a disaster-recovery cluster) or a recreated topic; a client that
/// compares <c>seq</c> across two streams would take new quotes for old. The epoch is derived from the cluster's id
/// and the topic, so every replica reading the same topic of the same cluster reports the same value, and a
/// client resets its <c>seq</c> comparisons when it changes (PROTOCOL.md extension, docs/protocol.md).
/// </summary>
public sealed class StreamEpoch
{
    private volatile string? value;

    /// <summary>The epoch, once the ingest has reached the cluster; null before.</summary>
    public string? Value => value;

    /// <summary>16 hex digits of SHA-256 over the cluster id and the topic.</summary>
    public static string From(string clusterId, string topic)
    {
        ArgumentNullException.ThrowIfNull(clusterId);
        ArgumentNullException.ThrowIfNull(topic);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(clusterId + "\n" + topic));
        return Convert.ToHexStringLower(hash.AsSpan(0, 8));
    }

    internal void Set(string epoch) => value = epoch;
}
