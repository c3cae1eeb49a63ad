using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using MarketStream.Contracts;
using MarketStream.Gateway.Market;
using MarketStream.Ingest;

namespace MarketStream.Benchmarks;

/// <summary>
/// The ingest's per-tick work on one core: decode a Kafka record value, then merge it into the last-value
/// cache. Each invocation handles <see cref="TickPayloads.Count"/> records of 500 symbols, so the reported time
/// is per tick and ticks/s = 1e9 / Mean(ns).
/// </summary>
[MemoryDiagnoser]
public class IngestBenchmarks
{
    private byte[][] payloads = [];
    private Tick[] ticks = [];
    private TickDecoder decoder = new();
    private MarketState state = new();
    private long offset;

    // MarketState.Apply is internal to the gateway; the accessor calls the real method, not a copy of it.
    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "Apply")]
    private static extern Quote? Apply(MarketState state, in TickEnvelope envelope);

    [GlobalSetup]
    public void Setup()
    {
        payloads = TickPayloads.Create();
        decoder = new TickDecoder();
        ticks = [.. payloads.Select(p => decoder.Decode(p, out var t) == TickRejectReason.None ? t! : throw new InvalidOperationException("bad payload"))];
        state = new MarketState();
        offset = 0;
    }

    [Benchmark(OperationsPerInvoke = TickPayloads.Count, Description = "decode (per tick)")]
    public int Decode()
    {
        var ok = 0;
        foreach (var p in payloads)
        {
            if (decoder.Decode(p, out _) == TickRejectReason.None)
            {
                ok++;
            }
        }

        return ok;
    }

    [Benchmark(OperationsPerInvoke = TickPayloads.Count, Description = "merge (per tick)")]
    public Quote? Merge()
    {
        Quote? last = null;
        foreach (var t in ticks)
        {
            last = Apply(state, new TickEnvelope(t, 0, offset++, default));
        }

        return last;
    }

    [Benchmark(OperationsPerInvoke = TickPayloads.Count, Description = "decode + merge (per tick)")]
    public Quote? DecodeAndMerge()
    {
        Quote? last = null;
        foreach (var p in payloads)
        {
            if (decoder.Decode(p, out var t) == TickRejectReason.None)
            {
                last = Apply(state, new TickEnvelope(t!, 0, offset++, default));
            }
        }

        return last;
    }
}
