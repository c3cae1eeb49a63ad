namespace MarketStream.Client.Tests;

/// <summary>Timeouts for every await in these tests, so that a hang fails instead of stalling the run.</summary>
internal static class Wait
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static Task For(Task task) => task.WaitAsync(Timeout);

    public static Task<T> For<T>(Task<T> task) => task.WaitAsync(Timeout);

    public static Task For(ValueTask task) => task.AsTask().WaitAsync(Timeout);

    /// <summary>Reads quotes until <paramref name="done"/> says the collected list is enough; fails after the timeout.</summary>
    public static async Task<List<QuoteUpdate>> ReadUntil(FeedClient client, Func<IReadOnlyList<QuoteUpdate>, bool> done, string what, TimeSpan? timeout = null)
    {
        var received = new List<QuoteUpdate>();
        using var cts = new CancellationTokenSource(timeout ?? Timeout);
        try
        {
            await foreach (var update in client.ReadAllAsync(cts.Token))
            {
                received.Add(update);
                if (done(received))
                {
                    return received;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        Assert.Fail($"Timed out reading quotes until: {what} (read {received.Count})");
        return received;
    }
}
