namespace MarketStream.Gateway.Market;

public static class MarketServiceCollectionExtensions
{
    /// <summary>The last-value cache, its single writer fed from the ingest channel, and the quotes topic's publisher.</summary>
    public static IServiceCollection AddMarketState(this IServiceCollection services)
    {
        services.AddSingleton<MarketState>();
        services.AddHostedService<MarketStateWriter>();
        services.AddSingleton<QuoteSnapshotPublisher>();
        services.AddHostedService(sp => sp.GetRequiredService<QuoteSnapshotPublisher>());
        return services;
    }
}
