using System.Buffers;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using MarketStream.Contracts;

namespace MarketStream.Benchmarks;

/// <summary>
/// Writing one <c>updates</c> frame the way a session's sender does: a reused <see cref="Utf8JsonWriter"/> over a
/// reused buffer. 50 quotes is a <c>fanout</c> client's frame (50 symbols, throttle 100 ms); 1 is a throttle-0 frame.
/// </summary>
[MemoryDiagnoser]
public class FrameEncodeBenchmarks
{
    private readonly ArrayBufferWriter<byte> buffer = new(16 * 1024);
    private Utf8JsonWriter writer = null!;
    private Quote[] quotes = [];

    [Params(1, 50)]
    public int QuotesPerFrame { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        writer = new Utf8JsonWriter(buffer, ServerMessages.WriterOptions);
        quotes = [.. TickPayloads.Symbols.Take(QuotesPerFrame).Select((s, i) => TickPayloads.FullQuote(s, 1_000 + i))];
    }

    [GlobalCleanup]
    public void Cleanup() => writer.Dispose();

    [Benchmark(Description = "encode updates frame")]
    public int Encode()
    {
        buffer.ResetWrittenCount();
        writer.Reset();
        ServerMessages.BeginUpdates(writer);
        for (var i = 0; i < quotes.Length; i++)
        {
            QuoteWriter.Write(writer, quotes[i], conflated: i & 3);
        }

        ServerMessages.EndUpdates(writer);
        writer.Flush();
        return buffer.WrittenCount;
    }
}
