using System.Diagnostics;
using Xunit;

namespace MarketStream.Testing;

/// <summary>
/// The one way tests wait for something that happens on another thread: poll the condition every few
/// milliseconds and fail, naming what was awaited, if it does not hold within the timeout; or, for what must not
/// happen, poll it for a stated time and fail the moment it does. Never a fixed sleep followed by an assertion.
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

    /// <summary>
    /// The negative check: <paramref name="condition"/> holds for the whole of <paramref name="duration"/> (nothing that
    /// must not happen happens), polled; fails, naming <paramref name="what"/>, the moment it stops holding.
    /// </summary>
    public static Task Throughout(Func<bool> condition, string what, TimeSpan duration) =>
        ThroughoutAsync(() => Task.FromResult(condition()), what, duration);

    /// <summary>As <see cref="Throughout(Func{bool}, string, TimeSpan)"/>, for an asynchronous check.</summary>
    public static Task Throughout(Func<Task<bool>> condition, string what, TimeSpan duration) =>
        ThroughoutAsync(condition, what, duration);

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

    private static async Task ThroughoutAsync(Func<Task<bool>> condition, string what, TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        if (await PollAsync(async () => !await condition(), duration))
        {
            Assert.Fail($"{what} stopped holding after {clock.Elapsed.TotalSeconds:0.###} s of {duration.TotalSeconds:0.###} s");
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
