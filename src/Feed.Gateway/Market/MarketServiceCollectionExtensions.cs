namespace MarketStream.Gateway.Market;

public static class MarketServiceCollectionExtensions
{
    /// <summary>The last-value cache and its single writer, fed from the ingest channel.</summary>
    public static IServiceCollection AddMarketState(this IServiceCollection services)
    {
        services.AddSingleton<MarketState>();
        services.AddHostedService<MarketStateWriter>();
        return services;
    }
}
