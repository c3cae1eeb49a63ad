using MarketStream.Contracts;

namespace MarketStream.Contracts.Tests;

public class SymbolsTests
{
    [Theory]
    [InlineData("aapl", "AAPL")]
    [InlineData("BRK.B", "BRK.B")]
    [InlineData("fx:eur/usd", "FX:EUR/USD")]
    [InlineData("9988", "9988")]
    [InlineData("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345")]
    public void Valid_symbols_normalise_to_upper_case(string input, string expected)
    {
        Assert.True(Symbols.TryNormalize(input, out var symbol));
        Assert.Equal(expected, symbol);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("-AAPL")]
    [InlineData("AA PL")]
    [InlineData("AAPL!")]
    [InlineData("ÄAPL")]
    [InlineData("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456")]
    public void Invalid_symbols_are_refused(string? input)
    {
        Assert.False(Symbols.TryNormalize(input, out _));
    }
}
