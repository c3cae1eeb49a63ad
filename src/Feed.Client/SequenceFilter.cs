namespace MarketStream.Client;

/// <summary>
/// Remembers the last <c>seq</c> delivered per symbol and refuses anything not newer: after a reconnect the
/// resubscribe's snapshot replays quotes the reader already has, and another replica may even be a little
/// behind. <c>seq</c> is derived from the Kafka offset, so it compares only within one topic (one cluster).
/// </summary>
internal sealed class SequenceFilter
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, long> lastSeq = new(StringComparer.Ordinal);

    /// <summary>True (and remembered) when <paramref name="seq"/> is newer than the last one seen for the symbol.</summary>
    public bool TryAdvance(string symbol, long seq)
    {
        lock (gate)
        {
            if (lastSeq.TryGetValue(symbol, out var last) && seq <= last)
            {
                return false;
            }

            lastSeq[symbol] = seq;
            return true;
        }
    }

    /// <summary>Forgets every symbol: the stream's epoch changed, so <c>seq</c> values of before compare with nothing now.</summary>
    public void Reset()
    {
        lock (gate)
        {
            lastSeq.Clear();
        }
    }

    /// <summary>Forgets a symbol (on unsubscribe), so memory follows the subscriptions.</summary>
    public void Forget(string symbol)
    {
        lock (gate)
        {
            lastSeq.Remove(symbol);
        }
    }
}
