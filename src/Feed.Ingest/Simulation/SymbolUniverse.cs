namespace MarketStream.Ingest.Simulation;

/// <summary>
/// The simulator's default universe: a few hundred listed US equities and ETFs, and major FX pairs, with
/// reference prices of the right order of magnitude. The walk starts from these; they are not quotes.
/// </summary>
internal static class SymbolUniverse
{
    /// <summary>Symbols with a reference price that makes the board look familiar.</summary>
    private static readonly (string Symbol, decimal Price)[] Anchored =
    [
        ("AAPL", 189.12m), ("MSFT", 415.30m), ("NVDA", 121.40m), ("AMZN", 182.75m), ("GOOGL", 168.20m),
        ("GOOG", 169.85m), ("META", 498.60m), ("TSLA", 177.90m), ("BRK.B", 409.50m), ("JPM", 198.40m),
        ("V", 274.10m), ("MA", 456.80m), ("UNH", 492.30m), ("XOM", 113.60m), ("JNJ", 147.20m),
        ("PG", 165.40m), ("HD", 345.10m), ("COST", 812.50m), ("AVGO", 1405.00m), ("LLY", 772.40m),
        ("NFLX", 641.30m), ("AMD", 158.70m), ("INTC", 30.85m), ("ORCL", 124.60m), ("CRM", 255.20m),
        ("ADBE", 478.90m), ("KO", 62.45m), ("PEP", 171.30m), ("WMT", 66.20m), ("DIS", 101.80m),
        ("BAC", 38.90m), ("WFC", 58.70m), ("GS", 458.30m), ("MS", 97.40m), ("C", 62.10m),
        ("SPY", 528.40m), ("QQQ", 452.10m), ("IWM", 205.30m), ("DIA", 389.70m), ("GLD", 215.60m),
        ("TLT", 91.20m), ("XLF", 41.30m), ("XLE", 92.80m), ("XLK", 212.40m), ("VTI", 262.10m),
    ];

    private static readonly string[] Equities =
    [
        "ABBV", "ABT", "ACN", "ADI", "ADP", "AEP", "AFL", "AIG", "AMAT", "AMGN", "AMT", "ANET", "AON", "APD",
        "APH", "ARE", "ATVI", "AXP", "AZO", "BA", "BDX", "BK", "BKNG", "BLK", "BMY", "BSX", "BX", "CAT", "CB",
        "CCI", "CDNS", "CHTR", "CI", "CL", "CMCSA", "CME", "CMG", "CNC", "COF", "COP", "CSCO", "CSX", "CTAS",
        "CVS", "CVX", "D", "DE", "DHR", "DLR", "DOW", "DUK", "ECL", "EL", "ELV", "EMR", "EOG", "EQIX", "ETN",
        "EW", "EXC", "F", "FCX", "FDX", "FI", "GD", "GE", "GILD", "GIS", "GM", "HCA", "HON", "HUM", "IBM",
        "ICE", "INTU", "ISRG", "ITW", "KDP", "KHC", "KLAC", "KMB", "KMI", "LIN", "LMT", "LOW", "LRCX", "MAR",
        "MCD", "MCHP", "MCK", "MCO", "MDLZ", "MDT", "MET", "MMC", "MMM", "MO", "MPC", "MRK", "MRNA", "MSI",
        "MU", "NEE", "NKE", "NOC", "NOW", "NSC", "NXPI", "O", "OXY", "PANW", "PAYX", "PFE", "PGR", "PH",
        "PLD", "PM", "PNC", "PSA", "PSX", "PYPL", "QCOM", "REGN", "ROP", "RTX", "SBUX", "SCHW", "SHW", "SLB",
        "SNPS", "SO", "SPG", "SPGI", "SRE", "STZ", "SYK", "SYY", "T", "TGT", "TJX", "TMO", "TMUS", "TRV",
        "TSN", "TT", "TXN", "UBER", "UNP", "UPS", "USB", "VLO", "VRTX", "VZ", "WBA", "WELL", "WM", "ZTS",
        "ABNB", "ADSK", "AJG", "ALL", "AME", "AMP", "APTV", "AVB", "AWK", "BIIB", "BKR", "CARR", "CBRE",
        "CEG", "CMI", "COR", "CPRT", "CSGP", "CTSH", "CTVA", "DAL", "DD", "DG", "DHI", "DLTR", "DVN", "DXCM",
        "EA", "EBAY", "ED", "EFX", "EIX", "ENPH", "EQR", "ES", "EXR", "FANG", "FAST", "FIS", "FTNT", "FTV",
        "GEHC", "GLW", "GPN", "GRMN", "GWW", "HAL", "HES", "HLT", "HPQ", "HSY", "IDXX", "IQV", "IR", "IT",
        "JCI", "KEYS", "KR", "LEN", "LHX", "LULU", "LYB", "MLM", "MNST", "MPWR", "MSCI", "MTD", "NDAQ", "NUE",
        "NVR", "ODFL", "OKE", "ON", "ORLY", "OTIS", "PCAR", "PCG", "PEG", "PPG", "PRU", "PWR", "RCL", "RMD",
        "ROK", "ROST", "RSG", "SMCI", "STT", "TEL", "TROW", "TSCO", "TTWO", "URI", "VICI", "VMC", "VRSK",
        "WAB", "WEC", "WMB", "WST", "WTW", "XEL", "XYL", "YUM", "ZBH", "COIN", "PLTR", "SNOW", "SHOP", "SQ",
    ];

    private static readonly (string Symbol, decimal Price)[] Currencies =
    [
        ("EUR/USD", 1.0842m), ("GBP/USD", 1.2715m), ("USD/JPY", 156.82m), ("USD/CHF", 0.9113m),
        ("AUD/USD", 0.6648m), ("USD/CAD", 1.3671m), ("NZD/USD", 0.6112m), ("EUR/GBP", 0.8527m),
        ("EUR/JPY", 170.03m), ("GBP/JPY", 199.41m), ("EUR/CHF", 0.9881m), ("USD/MXN", 16.9125m),
    ];

    /// <summary>The default universe: every built-in symbol with its reference price and price increment.</summary>
    public static IReadOnlyList<SimulatedSymbol> Default()
    {
        var list = new List<SimulatedSymbol>(Anchored.Length + Equities.Length + Currencies.Length);
        list.AddRange(Anchored.Select(a => new SimulatedSymbol(a.Symbol, a.Price, 0.01m)));
        list.AddRange(Equities.Select(s => new SimulatedSymbol(s, ReferencePrice(s), 0.01m)));
        list.AddRange(Currencies.Select(c => new SimulatedSymbol(c.Symbol, c.Price, c.Price > 20m ? 0.001m : 0.0001m)));
        return list;
    }

    /// <summary>The universe for a configured symbol list: built-in prices where known, a derived one otherwise.</summary>
    public static IReadOnlyList<SimulatedSymbol> From(IEnumerable<string> symbols)
    {
        var known = Default().ToDictionary(s => s.Symbol, StringComparer.Ordinal);
        return symbols
            .Select(s => known.TryGetValue(s, out var k) ? k : new SimulatedSymbol(s, ReferencePrice(s), 0.01m))
            .ToList();
    }

    /// <summary>A stable price between 10 and 500 from the symbol's letters, so a run is reproducible.</summary>
    private static decimal ReferencePrice(string symbol)
    {
        var hash = 17u;
        foreach (var c in symbol)
        {
            hash = unchecked((hash * 31) + c);
        }

        return 10m + (hash % 49_000) / 100m;
    }
}

/// <summary>A simulated instrument: its symbol, starting price and the smallest price step.</summary>
internal sealed record SimulatedSymbol(string Symbol, decimal ReferencePrice, decimal PriceIncrement);
