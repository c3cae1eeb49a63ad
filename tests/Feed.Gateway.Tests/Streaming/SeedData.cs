namespace MarketStream.Gateway.Tests.Streaming;

/// <summary>Seeds 1 to N for the seeded property tests: each seed is one reproducible case.</summary>
internal static class SeedData
{
    public static TheoryData<int> UpTo(int count)
    {
        var data = new TheoryData<int>();
        for (var seed = 1; seed <= count; seed++)
        {
            data.Add(seed);
        }

        return data;
    }
}
