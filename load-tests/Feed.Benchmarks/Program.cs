using BenchmarkDotNet.Running;

// dotnet run -c Release --project load-tests/Feed.Benchmarks -- --filter '*'   (or --list flat, --job short, …)
BenchmarkSwitcher.FromAssembly(typeof(MarketStream.Benchmarks.TickPayloads).Assembly).Run(args);
