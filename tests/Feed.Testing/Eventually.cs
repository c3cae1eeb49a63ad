using System.Diagnostics;
using Xunit;

namespace MarketStream.Testing;

/// <summary>
/// The one way tests wait for something that happens on another thread: poll the condition every few
/// milliseconds and fail, naming what was awaited, if it does not hold within the timeout. Never a fixed sleep.
/// </summary>
public static class Eventually
{
    /// <summary>How long a condition gets unless the test says otherwise: generous, as CI machines are shared.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(10);

    /// <summary>Waits until <paramref name="condition"/> holds; fails with <paramref name="what"/> after the timeout.</summary>
    public static Task Holds(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        HoldsAsync(() => Task.FromResult(condition()), () => what, timeout);

    /// <summary>As <see cref="Holds(Func{bool}, string, TimeSpan?)"/>, with a description made when it fails (the state then).</summary>
    public static Task Holds(Func<bool> condition, Func<string> what, TimeSpan? timeout = null) =>
        HoldsAsync(() => Task.FromResult(condition()), what, timeout);

    /// <summary>Waits until the asynchronous <paramref name="condition"/> (an HTTP probe, say) holds; fails with <paramref name="what"/> after the timeout.</summary>
    public static Task Holds(Func<Task<bool>> condition, string what, TimeSpan? timeout = null) =>
        HoldsAsync(condition, () => what, timeout);

    /// <summary>True as soon as <paramref name="condition"/> holds, false if it did not within <paramref name="within"/>.</summary>
    public static Task<bool> Within(Func<bool> condition, TimeSpan within) => PollAsync(() => Task.FromResult(condition()), within);

    private static async Task HoldsAsync(Func<Task<bool>> condition, Func<string> what, TimeSpan? timeout)
    {
        var limit = timeout ?? DefaultTimeout;
        if (!await PollAsync(condition, limit))
        {
            Assert.Fail($"Timed out after {limit.TotalSeconds:0.#} s waiting for {what()}");
        }
    }

    /// <summary>The one poll: true once the condition holds; false at the limit, also when one asynchronous check outlasts it.</summary>
    private static async Task<bool> PollAsync(Func<Task<bool>> condition, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var check = condition();
            var left = limit - clock.Elapsed;
            if (!check.IsCompleted && await Task.WhenAny(check, Task.Delay(left > TimeSpan.Zero ? left : TimeSpan.Zero)) != check)
            {
                return false;
            }

            if (await check)
            {
                return true;
            }

            if (clock.Elapsed > limit)
            {
                return false;
            }

            await Task.Delay(Interval);
        }
    }
}
