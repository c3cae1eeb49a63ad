using MarketStream.Contracts;

namespace MarketStream.Ingest.Simulation;

/// <summary>
/// A random-walk market: each call to <see cref="Next"/> picks a symbol (some far busier than others, as
/// in a real market) and moves it. Prices are kept as whole numbers of the symbol's price increment and
/// only turned into <see cref="decimal"/> at the end, so no price ever passes through binary floating point.
/// Not thread-safe: one producer loop owns it.
/// </summary>
internal sealed class MarketModel
{
    private static readonly string[] EquityVenues = ["XNAS", "XNYS", "ARCX", "BATS", "EDGX", "IEXG"];

    private readonly Random random;
    private readonly double partialTickRatio;
    private readonly InstrumentState[] instruments;
    private readonly double[] cumulativeWeights;

    public MarketModel(IReadOnlyList<SimulatedSymbol> universe, double partialTickRatio, int seed)
    {
        if (universe.Count == 0)
        {
            throw new ArgumentException("The simulator needs at least one symbol.", nameof(universe));
        }

        random = new Random(seed);
        this.partialTickRatio = partialTickRatio;
        instruments = universe.Select(s => new InstrumentState(s)).ToArray();

        // Activity falls off with rank (roughly Zipf), so a few names tick far more often than the tail.
        cumulativeWeights = new double[instruments.Length];
        var total = 0.0;
        for (var i = 0; i < instruments.Length; i++)
        {
            total += 1.0 / Math.Pow(i + 1, 0.6);
            cumulativeWeights[i] = total;
        }
    }

    public int SymbolCount => instruments.Length;

    /// <summary>The next tick, with <paramref name="timestampMicros"/> as its event time.</summary>
    public Tick Next(long timestampMicros)
    {
        var pick = random.NextDouble() * cumulativeWeights[^1];
        var index = Array.BinarySearch(cumulativeWeights, pick);
        var instrument = instruments[index < 0 ? ~index : index];
        return instrument.Step(random, partialTickRatio, timestampMicros);
    }

    private sealed class InstrumentState
    {
        private readonly SimulatedSymbol symbol;
        private readonly bool isCurrency;
        private readonly double volatilityInIncrements;
        private long midIncrements;
        private int spreadIncrements;
        private long bidSize;
        private long askSize;
        private bool sentFull;

        public InstrumentState(SimulatedSymbol symbol)
        {
            this.symbol = symbol;
            isCurrency = symbol.Symbol.Contains('/', StringComparison.Ordinal);
            midIncrements = (long)(symbol.ReferencePrice / symbol.PriceIncrement);

            // About 2 basis points of standard deviation per tick event.
            volatilityInIncrements = Math.Max(0.6, (double)midIncrements * 0.0002);
            spreadIncrements = 1;
            bidSize = askSize = LotSize;
        }

        private long LotSize => isCurrency ? 1_000_000 : 100;

        public Tick Step(Random random, double partialTickRatio, long ts)
        {
            midIncrements += (long)Math.Round(Gaussian(random) * volatilityInIncrements);
            midIncrements = Math.Max(midIncrements, 20);
            spreadIncrements = Math.Clamp(spreadIncrements + random.Next(-1, 2), 1, 4);
            bidSize = LotSize * random.Next(1, 50);
            askSize = LotSize * random.Next(1, 50);

            var bidIncrements = midIncrements - (spreadIncrements / 2);
            var bid = bidIncrements * symbol.PriceIncrement;
            var ask = (bidIncrements + spreadIncrements) * symbol.PriceIncrement;

            // A trade prints at the bid or the ask.
            var last = random.Next(2) == 0 ? bid : ask;
            var lastSize = LotSize * random.Next(1, 20);
            var venue = isCurrency ? "FXALL" : EquityVenues[random.Next(EquityVenues.Length)];

            // The first tick of a symbol is always whole, so the state has every field from then on.
            if (sentFull && random.NextDouble() < partialTickRatio)
            {
                return random.NextDouble() < 0.65
                    ? new Tick { Symbol = symbol.Symbol, Ts = ts, Bid = bid, Ask = ask, BidSize = bidSize, AskSize = askSize }
                    : new Tick { Symbol = symbol.Symbol, Ts = ts, Last = last, LastSize = lastSize, Venue = venue };
            }

            sentFull = true;
            return new Tick
            {
                Symbol = symbol.Symbol,
                Ts = ts,
                Bid = bid,
                Ask = ask,
                BidSize = bidSize,
                AskSize = askSize,
                Last = last,
                LastSize = lastSize,
                Venue = venue,
            };
        }

        // Box-Muller: the step size is a random number; prices are not.
        private static double Gaussian(Random random) =>
            Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble())) * Math.Cos(2.0 * Math.PI * random.NextDouble());
    }
}
