using MarketStream.LoadTests;

// dotnet run -c Release --project load-tests/Feed.LoadTests -- <scenario> [--quick] [options]; `list` shows them.
return await LoadHarness.RunAsync(args, Console.Out).ConfigureAwait(false);
